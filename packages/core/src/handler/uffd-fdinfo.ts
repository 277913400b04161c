/**
 * What the kernel says about a uffd in /proc/self/fdinfo/<fd>:
 *
 *   pending:  faults queued, not read yet
 *   total:    threads parked on the uffd (queued + read but not answered)
 *   API:      <api>:<features>:<ioctls> (hex) as negotiated by UFFDIO_API
 *
 * `total` is the ground truth of "is any thread still waiting on this uffd",
 * whatever path its fault took; close() and idle() wait for it to reach 0.
 */
import { readFileSync } from 'node:fs';

export interface UffdFdinfo {
  pending: number;
  total: number;
  /** Feature bits as reported (bit 31: UFFDIO_API done), 0 when absent. */
  rawFeatures: number;
}

export function readUffdFdinfo(fd: number): UffdFdinfo {
  const text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const api = /^API:\s*([0-9a-f]+):([0-9a-f]+):([0-9a-f]+)/m.exec(text);
  return {
    pending: Number(/^pending:\s*(\d+)/m.exec(text)?.[1] ?? 0),
    total: Number(/^total:\s*(\d+)/m.exec(text)?.[1] ?? 0),
    rawFeatures: api ? Number.parseInt(api[2]!, 16) : 0,
  };
}
