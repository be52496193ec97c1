export { LocalVolumeDriver, validateLocalOptions, dirSize, mountPoints } from './driver.js';
