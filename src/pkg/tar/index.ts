export { type EntryType, type TarHeader, TarFormatError, makeHeader } from './header.js';
export { type TarEntry, type ReadTarOptions, readTar } from './reader.js';
export { type TarBody, TarWriter, tarFromEntries } from './writer.js';
