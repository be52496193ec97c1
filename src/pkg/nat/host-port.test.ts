import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostPort } from './host-port.js';

test('HostPort: "", "0" and "0-0" are ephemeral; ports and ranges as given', () => {
  assert.equal(parseHostPort(''), undefined);
  assert.equal(parseHostPort(undefined), undefined);
  assert.equal(parseHostPort('0'), undefined);
  assert.equal(parseHostPort('0-0'), undefined);
  assert.deepEqual(parseHostPort('8080'), [8080, 8080]);
  assert.deepEqual(parseHostPort(' 8000-8010 '), [8000, 8010]);
  assert.deepEqual(parseHostPort('0-100'), [1, 100]);
  assert.deepEqual(parseHostPort('65535'), [65535, 65535]);
});

test('HostPort: bad values are 400s with dockerd\'s wording', () => {
  for (const bad of ['-1', 'abc', '65536', '80-70', '1-65536', '80/tcp', '1.5'])
    assert.throws(() => parseHostPort(bad), { kind: 'InvalidArgument', message: `invalid port specification: "${bad}"` });
});
