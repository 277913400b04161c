/**
 * Resolver module: a memory snapshot file (as Firecracker writes guest memory:
 * the regions one after another, each at its `offset` in the file).
 *
 * The file is mapped read-only once per worker and each fault installs
 * straight from the mapping: the kernel copies page-cache pages into the
 * faulting range, with no pread and no copy through JS. Offsets past the end
 * of the file read as zero.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import native from '@faultline/native';
import type { PageResolver, ResolveRequest, ResolveResult } from '../resolver.js';

export interface SnapshotOptions {
  path: string;
  /** File offset of resolver offset 0. Default 0. */
  offset?: number;
}

export default function createSnapshotResolver(options: SnapshotOptions): PageResolver {
  const base = options.offset ?? 0;
  const fd = openSync(options.path, 'r');
  let file: Uint8Array;
  try {
    const size = fstatSync(fd).size;
    const mapLength = Math.ceil(Math.max(size, 1) / native.pageSize()) * native.pageSize();
    file = new Uint8Array(native.mapFd(fd, mapLength, 0, { private: true, readOnly: true }).buffer, 0, size);
  } finally {
    closeSync(fd); // the mapping keeps the file alive
  }
  return {
    resolve(request: ResolveRequest, out: Uint8Array): ResolveResult {
      const start = base + request.offset;
      const end = start + request.length;
      if (end <= file.length) return { source: file.subarray(start, end) };
      // Straddles or passes the end of the file: zero-fill the tail in scratch.
      out.fill(0);
      if (start < file.length) out.set(file.subarray(start, file.length));
      return undefined;
    },
  };
}
