/**
 * Resolver module: pages from a file with pread(2) (fs.readSync into the
 * worker's scratch pages). Bytes past the end of the file read as zero.
 * With `writable`, write() stores pages back with pwrite(2) (eviction writeback).
 * Each worker opens the file once; the fd closes with the region.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { PageResolver, ResolveRequest } from '../resolver.js';

export interface FileOptions {
  path: string;
  /** File offset of resolver offset 0. Default 0. */
  offset?: number;
  /** Open the file read-write and implement write() (eviction writeback). Default false. */
  writable?: boolean;
}

export default function createFileResolver(options: FileOptions): PageResolver {
  const base = options.offset ?? 0;
  const fd = openSync(options.path, options.writable ? 'r+' : 'r');
  const write = (offset: number, bytes: Uint8Array): void => {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, base + offset + done);
  };
  return {
    ...(options.writable ? { write } : {}),
    resolve(request: ResolveRequest, out: Uint8Array) {
      let done = 0;
      while (done < request.length) {
        const n = readSync(fd, out, done, request.length - done, base + request.offset + done);
        if (n === 0) break; // end of file: the rest is zero
        done += n;
      }
      if (done < request.length) out.fill(0, done, request.length);
    },
    close() {
      closeSync(fd);
    },
  };
}
