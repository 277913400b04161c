// The restore group's fixtures for one bench run: the snapshot's memory file
// (pattern bytes), the working set the child touches (as its --working-set
// file), and fresh paths for the traces the recording variant writes. Made
// on first use, so a run without the restore group writes nothing.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePatternFile } from './memory-file.js';
import { workingSet, workingSetBytes } from './working-set.js';

export interface SnapshotSpec {
  /** Bytes of the snapshot (and of the child's region). */
  regionBytes: number;
  /** Share of its pages the child touches. */
  fraction: number;
  /** Pattern seed of the memory file and seed of the working set. */
  seed: number;
  /** The system page size: the unit of the working set (also with huge pages). */
  pageSize: number;
}

export interface RestoreSnapshot extends SnapshotSpec {
  memFile: string;
  workingSetFile: string;
  totalPages: number;
  workingSetPages: number;
  /** A path for one round's trace (removed with the run's directory). */
  tracePath(): string;
  /** Removes this round's trace (they are large: the working set's pages ride in them). */
  dropTrace(path: string): void;
}

export function createSnapshot(dir: string, spec: SnapshotSpec): RestoreSnapshot {
  const memFile = join(dir, 'restore-memory.bin');
  writePatternFile(memFile, spec.regionBytes, spec.seed);
  const totalPages = spec.regionBytes / spec.pageSize;
  const pages = workingSet(totalPages, spec.fraction, spec.seed);
  const workingSetFile = join(dir, 'restore-working-set.u32');
  writeFileSync(workingSetFile, workingSetBytes(pages));
  let traces = 0;
  return {
    ...spec,
    memFile,
    workingSetFile,
    totalPages,
    workingSetPages: pages.length,
    tracePath: () => join(dir, `restore-trace-${++traces}.fltrace`),
    dropTrace: (path) => rmSync(path, { force: true }),
  };
}
