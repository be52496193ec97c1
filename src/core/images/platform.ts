/** The host's platform in Go's (and so the OCI image spec's) naming. */
const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** `GOARCH` of this machine: what `docker pull` picks from a manifest list by default. */
export const HOST_ARCH = goArch[process.arch] ?? process.arch;
