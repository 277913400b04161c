/**
 * Resolver module: pages from a file with pread(2) (fs.readSync into the
 * worker's scratch pages). Bytes past the end of the file read as zero.
 * Each worker opens the file once; the fd closes with the region.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { PageResolver, ResolveRequest } from '../resolver.js';

export interface FileOptions {
  path: string;
  /** File offset of resolver offset 0. Default 0. */
  offset?: number;
}

export default function createFileResolver(options: FileOptions): PageResolver {
  const base = options.offset ?? 0;
  const fd = openSync(options.path, 'r');
  return {
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
