/** The local content store against the ContentStore conformance suite. */
import { contentStoreSuite } from '../../../core/content/testsuite.js';
import { LocalContentStore } from './store.js';
import { FileLeaseManager } from './leases.js';

contentStoreSuite('local', {
  open: (root, { leases }) => LocalContentStore.open(root, { leases }),
  leases: (root) => FileLeaseManager.open(root),
});
