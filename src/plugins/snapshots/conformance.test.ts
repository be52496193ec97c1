/** The overlay and native snapshotters against the Snapshotter conformance suite. */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { snapshotterSuite } from '../../core/snapshots/testsuite.js';
import { FileLeaseManager } from '../content/local/leases.js';
import { OverlaySnapshotter, overlaySupported } from './overlay/index.js';
import { NativeSnapshotter } from './native/index.js';

const probe = path.join(tmpdir(), `berth-overlay-probe-${process.pid}`);
const overlayOK = await overlaySupported(probe);
await rm(probe, { recursive: true, force: true });

snapshotterSuite('overlayfs', {
  open: (root, { leases }) => OverlaySnapshotter.open(root, { leases }),
  leases: (root) => FileLeaseManager.open(root),
  skip: !overlayOK && 'no overlayfs on this filesystem',
});
snapshotterSuite('native', {
  open: (root, { leases }) => NativeSnapshotter.open(root, { leases }),
  leases: (root) => FileLeaseManager.open(root),
});
