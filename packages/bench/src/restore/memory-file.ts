// The restore bench's snapshot: a memory file of pattern bytes (the
// `pattern` content, so any page's expected bytes are known from its offset
// alone), written once per bench run and read by every variant.
import { closeSync, openSync, writeSync } from 'node:fs';
import native from '@faultline/native';

const CHUNK = 8 << 20;

/** Writes `size` bytes of the pattern with `seed` to `path` (created or truncated). */
export function writePatternFile(path: string, size: number, seed: number): void {
  const chunk = Buffer.alloc(Math.min(CHUNK, size));
  const fd = openSync(path, 'w');
  try {
    for (let offset = 0; offset < size; offset += chunk.length) {
      const n = Math.min(chunk.length, size - offset);
      native.fillPattern(chunk, seed, offset / 4);
      let done = 0;
      while (done < n) done += writeSync(fd, chunk, done, n - done, offset + done);
    }
  } finally {
    closeSync(fd);
  }
}
