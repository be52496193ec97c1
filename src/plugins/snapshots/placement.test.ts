import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecordingKernel, kernelError } from '../../sys/fake-kernel.js';
import { spreadSubdirectories } from './placement.js';

test('spreadSubdirectories sets the top-directory flag, and a file system without it is not an error', () => {
  const k = new RecordingKernel();
  spreadSubdirectories('/data/snapshots', k);
  assert.deepEqual(k.calls.filter((c) => c.op === 'setTopDir').map((c) => c.args), [['/data/snapshots']]);
  const refusing = Object.assign(new RecordingKernel(), {
    setTopDir(): void {
      throw kernelError('ioctl', 'ENOTSUP', '/data/snapshots');
    },
  });
  assert.doesNotThrow(() => spreadSubdirectories('/data/snapshots', refusing));
});
