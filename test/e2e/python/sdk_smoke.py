"""The Docker SDK for Python (Debian's python3-docker) against a daemon, as its users call it.

Run by test/e2e/python-sdk.test.ts with DOCKER_HOST set and the image name as argv[1]; every step prints one
"ok <step>" line, and the first failure ends the script with a traceback (exit 1).
"""
import sys

import docker
from docker.errors import APIError, ImageNotFound, NotFound

IMG = sys.argv[1]
client = docker.from_env(timeout=60)


def ok(step, cond=True, detail=""):
    if not cond:
        raise AssertionError("%s: %s" % (step, detail))
    print("ok", step, flush=True)


ok("ping", client.ping() is True)
v = client.version()
ok("version", v.get("ApiVersion") and v.get("Version") and v.get("Os") == "linux", repr(v))
info = client.info()
ok("info", info.get("Swarm", {}).get("LocalNodeState") == "inactive", repr(info.get("Swarm")))

img = client.images.get(IMG)
ok("images.get", IMG in img.tags, repr(img.tags))
ok("images.list", any(IMG in i.tags for i in client.images.list()))
try:
    client.images.get("python-sdk/no-such-image:1")
    ok("images.get missing", False, "no error")
except ImageNotFound as e:
    ok("images.get missing", e.response.status_code == 404)

c = client.containers.run(IMG, ["sh", "-c", "echo out-line; echo err-line >&2; sleep 30"], detach=True, name="pysdk1",
                          labels={"suite": "python-sdk"}, environment={"GREETING": "hi"})
ok("containers.run detach", c.name == "pysdk1")
c.reload()
ok("reload status", c.status == "running", c.status)
ok("containers.get", client.containers.get("pysdk1").id == c.id)
ok("containers.list filter", [x.id for x in client.containers.list(filters={"label": "suite=python-sdk"})] == [c.id])

# logs: the stream is multiplexed (no tty); the SDK demultiplexes it
for _ in range(100):
    logs = c.logs(stdout=True, stderr=True)
    if b"err-line" in logs and b"out-line" in logs:
        break
    import time
    time.sleep(0.1)
ok("logs", b"out-line" in logs and b"err-line" in logs, repr(logs))
ok("logs stdout only", c.logs(stdout=True, stderr=False).strip() == b"out-line", repr(c.logs(stdout=True, stderr=False)))

r = c.exec_run(["sh", "-c", "echo $GREETING; exit 3"])
ok("exec_run", r.exit_code == 3 and r.output.strip() == b"hi", repr(r))
r = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
ok("exec_run demux", r.output == (b"o\n", b"e\n"), repr(r))
r = c.exec_run("cat /etc/hostname", user="root", workdir="/")
ok("exec_run string cmd", r.exit_code == 0 and r.output.strip() == c.id[:12].encode(), repr(r))

# files in and out (tar archives), one-shot stats, top, rename, pause/unpause
import io
import tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"from python\n"
    info_ = tarfile.TarInfo("py.txt")
    info_.size = len(data)
    t.addfile(info_, io.BytesIO(data))
ok("put_archive", c.put_archive("/tmp", buf.getvalue()) is True)
stream, stat = c.get_archive("/tmp/py.txt")
raw = b"".join(stream)
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    got = t.extractfile("py.txt").read()
ok("get_archive", got == b"from python\n" and stat["name"] == "py.txt", repr((got, stat)))
st = c.stats(stream=False)
ok("stats", st.get("memory_stats", {}).get("usage", 0) > 0 and "cpu_stats" in st, repr(st)[:300])
top = c.top()
ok("top", any("sleep" in " ".join(p) for p in top["Processes"]), repr(top))
c.pause()
c.reload()
ok("pause", c.status == "paused", c.status)
c.unpause()
c.rename("pysdk1b")
c.reload()
ok("rename", c.name == "pysdk1b", c.name)
df = client.df()
ok("df", isinstance(df.get("Images"), list) and isinstance(df.get("Containers"), list), repr(df)[:200])

c.kill()
res = c.wait(timeout=30)
ok("wait", res["StatusCode"] == 137, repr(res))
c.remove()
try:
    client.containers.get("pysdk1b")
    ok("removed", False, "still there")
except NotFound:
    ok("removed")

# run without detach: the output comes back, the container is removed
out = client.containers.run(IMG, ["echo", "attached"], remove=True)
ok("containers.run attached", out == b"attached\n", repr(out))
try:
    client.containers.run(IMG, ["sh", "-c", "exit 7"], remove=True)
    ok("run non-zero", False, "no error")
except docker.errors.ContainerError as e:
    ok("run non-zero", e.exit_status == 7)

net = client.networks.create("pysdk-net", driver="bridge", labels={"suite": "python-sdk"})
ok("networks.create", net.name == "pysdk-net")
c2 = client.containers.run(IMG, ["sleep", "30"], detach=True, name="pysdk2", network="pysdk-net")
net.reload()
ok("network containers", [x.id for x in net.containers] == [c2.id])
c2.remove(force=True)
net.remove()
ok("networks.remove", not client.networks.list(names=["pysdk-net"]))

vol = client.volumes.create("pysdk-vol", labels={"suite": "python-sdk"})
ok("volumes.create", vol.name == "pysdk-vol" and client.volumes.get("pysdk-vol").attrs["Labels"] == {"suite": "python-sdk"})
vol.remove()
ok("volumes.remove", "pysdk-vol" not in [x.name for x in client.volumes.list()])

# as on a dockerd outside a swarm: a plain leave is a 503 APIError; the SDK takes force=True's 503 as done
try:
    client.swarm.leave()
    ok("swarm.leave", False, "no error")
except APIError as e:
    ok("swarm.leave", e.response.status_code == 503 and "not part of a swarm" in str(e), str(e))
ok("swarm.leave force", client.swarm.leave(force=True) is True)

ok("prune", isinstance(client.containers.prune().get("ContainersDeleted"), (list, type(None))))
print("done", flush=True)
