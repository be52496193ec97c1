export { LocalContentStore } from './store.js';
export { FileLeaseManager } from './leases.js';
