import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, parseJson } from './json.js';
import { decode, decodeText } from './schema.js';
import { containerCreateBody } from '../types/container.js';
import { networkCreateBody } from '../types/network.js';
import { volumeCreateBody } from '../types/volume.js';
import { imageConfig } from '../types/image.js';
import { buildArgs, buildLabels } from '../types/build.js';

const syntaxError = (text: string) => {
  try {
    parseJson(text);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

test('parseJson words syntax errors as Go’s scanner does', () => {
  // Each expectation was read from dockerd 20.10 or Go's encoding/json scanner states.
  const cases: Array<[string, string]> = [
    ['{"Image":', 'unexpected EOF'],
    ['', 'unexpected EOF'],
    ['notjson', "invalid character 'o' in literal null (expecting 'u')"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{1:2}', "invalid character '1' looking for beginning of object key string"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['"a\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['"a\u0001"', "invalid character '\\x01' in string literal"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
    ['{} x', "invalid character 'x' after top-level value"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
  ];
  for (const [text, want] of cases) assert.equal(syntaxError(text), want, text);
  for (const ok of ['{}', ' [ ] ', '{"a":[1,-2.5e+3,true,false,null,"x\\n\\u00e9"]}', '0', '"s"', '{"a":{"b":{}}}\n'])
    assert.deepEqual(parseJson(ok), JSON.parse(ok), ok);
});

test('parseJson refuses nesting beyond Go’s limit without recursing', () => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
  assert.doesNotThrow(() => parseJson(nest(MAX_JSON_DEPTH)));
  assert.equal(syntaxError(nest(MAX_JSON_DEPTH + 1)), "invalid character '[' exceeded max depth");
  assert.equal(syntaxError(`{"Image":"x","Labels":${nest(MAX_JSON_DEPTH)}}`), "invalid character '[' exceeded max depth");
  assert.equal(syntaxError('['.repeat(1_000_000)), "invalid character '[' exceeded max depth");
});

const decodeError = (schema: Parameters<typeof decode>[0], text: string) => {
  try {
    decodeText(schema, text);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

test('create bodies: Go’s UnmarshalTypeError wording, as dockerd answers', () => {
  // Read from dockerd 20.10.24 with the same bodies.
  const cases: Array<[string, string]> = [
    ['{"Labels":{"a":5}}', 'number into Go struct field ContainerConfigWrapper.Labels of type string'],
    ['{"Image":5}', 'number into Go struct field ContainerConfigWrapper.Image of type string'],
    ['{"HostConfig":{"Memory":"lots"}}', 'string into Go struct field HostConfig.HostConfig.Memory of type int64'],
    ['{"HostConfig":{"Mounts":{}}}', 'object into Go struct field HostConfig.HostConfig.Mounts of type []mount.Mount'],
    ['{"ExposedPorts":["80/tcp"]}', 'array into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet'],
    ['{"Env":"A=1"}', 'string into Go struct field ContainerConfigWrapper.Env of type []string'],
    ['{"HostConfig":{"ReadonlyRootfs":"yes"}}', 'string into Go struct field HostConfig.HostConfig.ReadonlyRootfs of type bool'],
    ['{"Cmd":5}', 'number into Go struct field ContainerConfigWrapper.Cmd of type string'],
    ['[]', 'array into Go value of type runconfig.ContainerConfigWrapper'],
    ['5', 'number into Go value of type runconfig.ContainerConfigWrapper'],
    ['{"HostConfig":[]}', 'array into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig'],
    ['{"NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":"x"}}}}', 'string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string'],
    ['{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}', 'number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string'],
    ['{"Healthcheck":{"Interval":"1s"}}', 'string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration'],
    ['{"HostConfig":{"Memory":1.5}}', 'number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64'],
    ['{"StopTimeout":"x"}', 'string into Go struct field ContainerConfigWrapper.StopTimeout of type int'],
    ['{"Volumes":{"/a":5}}', 'number into Go struct field ContainerConfigWrapper.Volumes of type struct {}'],
    ['{"HostConfig":{"Ulimits":[{"Name":"nofile","Soft":"1"}]}}', 'string into Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64'],
    ['{"HostConfig":{"RestartPolicy":"always"}}', 'string into Go struct field HostConfig.HostConfig.RestartPolicy of type container.RestartPolicy'],
    ['{"HostConfig":{"BlkioWeight":70000}}', 'number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16'],
  ];
  for (const [text, want] of cases) assert.equal(decodeError(containerCreateBody, text), `json: cannot unmarshal ${want}`, text);
});

test('other bodies name their own Go types', () => {
  assert.equal(decodeError(networkCreateBody, '{"Name":["a"]}'), 'json: cannot unmarshal array into Go struct field NetworkCreateRequest.Name of type string');
  assert.equal(decodeError(networkCreateBody, '{"IPAM":{"Config":{}}}'), 'json: cannot unmarshal object into Go struct field IPAM.IPAM.Config of type []network.IPAMConfig');
  assert.equal(decodeError(networkCreateBody, '[]'), 'json: cannot unmarshal array into Go value of type types.NetworkCreateRequest');
  assert.equal(decodeError(volumeCreateBody, '{"Labels":{"a":5}}'), 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Labels of type string');
  assert.equal(decodeError(volumeCreateBody, '{"DriverOpts":[]}'), 'json: cannot unmarshal array into Go struct field VolumeCreateBody.DriverOpts of type map[string]string');
  assert.equal(decodeError(buildLabels, '{"a":5}'), 'json: cannot unmarshal number into Go value of type string');
  assert.equal(decodeError(buildLabels, '[]'), 'json: cannot unmarshal array into Go value of type map[string]string');
  assert.equal(decodeError(imageConfig, '{"config":{"Labels":{"evil":5}}}'), 'json: cannot unmarshal number into Go struct field Config.config.Labels of type string');
  assert.equal(decodeError(imageConfig, '{"history":[{"created_by":5}]}'), 'json: cannot unmarshal number into Go struct field History.history.created_by of type string');
  assert.equal(decodeError(imageConfig, '{"architecture":5}'), 'json: cannot unmarshal number into Go struct field Image.architecture of type string');
  assert.equal(decodeError(imageConfig, '{"created":5}'), 'parsing time "5" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "5" as "\\""');
  assert.equal(decodeError(imageConfig, '{"created":"2024-01-01T00:00:00.5+01:00"}'), undefined);
});

test('decoded values hold only known fields, matched case-insensitively, with Go’s null rules', () => {
  const v = decodeText(
    containerCreateBody,
    '{"image":"busybox","Cmd":"sh","Bogus":[[[1]]],"Labels":{"a":null},"Env":null,"HostConfig":{"memory":7,"Ulimits":[null],"Unknown":{}}}',
  );
  assert.deepEqual(v, { Image: 'busybox', Cmd: ['sh'], Labels: { a: '' }, Env: null, HostConfig: { Memory: 7, Ulimits: [{}] } });
  assert.deepEqual(decodeText(buildArgs, '{"A":null,"B":"x"}'), { A: null, B: 'x' });
  // A null scalar or struct field keeps Go's zero value (unset); a null slice, map or pointer is nil (null).
  assert.deepEqual(
    decodeText(containerCreateBody, '{"Hostname":null,"Tty":null,"StopTimeout":null,"Healthcheck":null,"Entrypoint":null,"HostConfig":{"Memory":null,"RestartPolicy":null,"Binds":null,"PortBindings":{"80/tcp":null}}}'),
    { StopTimeout: null, Healthcheck: null, Entrypoint: null, HostConfig: { Binds: null, PortBindings: { '80/tcp': null } } },
  );
  assert.equal(decodeText(containerCreateBody, 'null'), null);
  // Unknown fields may nest as deep as the parser allows: they are dropped, so storing the result cannot overflow.
  const deep = `{"Image":"x","X":${'['.repeat(9000)}${']'.repeat(9000)}}`;
  assert.equal(JSON.stringify(decodeText(containerCreateBody, deep)), '{"Image":"x"}');
});
