/**
 * An evicting region's evictor on a native thread (native src/evict/): the
 * same policy as the JS evictor, for regions whose store the native layer
 * writes itself — resolvers.file(path, { writable: true }) (pread to compare,
 * pwrite the pages that differ) — or that write nothing back. No JS runs per
 * run of pages; JS hears only of flushes done, failed writebacks and the end.
 */
import { closeSync, openSync } from 'node:fs';
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import type { ResolverSpec } from '../resolver.js';
import { builtinName } from '../resolvers/index.js';
import type { FileOptions } from '../resolvers/file.js';
import { STAT, STAT_COUNT } from '../shared/region-stats.js';
import type { EvictorRequest, RunningEvictor } from './evictors.js';
import { INTERVAL_MS, RUN_PAGES, WRITEBACK_RETRY_MS } from './eviction-policy.js';
import { FlushRequests } from './flush-requests.js';

/** Where a native evictor writes back: a file, or nowhere (no writeback). */
export type NativeStore = { path: string; offset: number } | 'none';

/** The native store of a region, or null when its writeback needs the JS resolver (a custom write()). */
export function nativeStore(spec: ResolverSpec, writeback: boolean): NativeStore | null {
  if (!writeback) return 'none'; // the resolver is never asked: any region can
  if (builtinName(spec) !== 'file') return null;
  const o = spec.options as FileOptions;
  return o.writable === true ? { path: o.path, offset: o.offset ?? 0 } : null;
}

type Report = native.NativeEvictorReport;

export function startNativeEvictor(
  req: EvictorRequest,
  store: NativeStore,
  statsSab: SharedArrayBuffer,
  onError: (err: FaultlineError) => void,
): RunningEvictor {
  // Our own fd, read-write, as the JS file resolver opens it for write(): it goes with the evictor.
  const fd = store === 'none' ? -1 : openSync(store.path, 'r+');
  const flushes = new FlushRequests();
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const name = req.resolver.info.name;
  const onReport = (r: Report): void => {
    if (r.type === 'flushed') flushes.served(r.seq);
    else if (r.type === 'stopped') stopped();
    else {
      const err = new FaultlineError(
        'ERR_FAULTLINE_WRITEBACK_FAILED',
        `writing back pages ${r.first}..${r.first + r.pages - 1} of region "${name}" failed ` +
          `(${r.code}: ${r.syscall} of ${store === 'none' ? 'the store' : store.path}); ` +
          `they stay in memory, eviction resumes in ${WRITEBACK_RETRY_MS} ms`,
      );
      onError(err);
      if (r.seq > 0) flushes.failed(r.seq, err); // it failed in a flush's pass: that flush did not write everything
    }
  };
  let evictor: native.NativeEvictor;
  try {
    evictor = new native.NativeEvictor(
      {
        uffdFd: req.uffdFd,
        address: req.address,
        size: req.size,
        pageSize: req.pageSize,
        maxPages: req.maxPages,
        targetPages: req.targetPages,
        runPages: RUN_PAGES,
        intervalMs: INTERVAL_MS,
        fileFd: fd,
        fileBase: store === 'none' ? 0 : store.offset,
        marker: new Int32Array(req.markerSab),
        stats: new Int32Array(statsSab),
        installedIndex: req.regionId * STAT_COUNT + STAT.pagesInstalled,
      },
      onReport,
    );
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    throw err;
  }
  return {
    kind: 'native',
    stats: () => evictor.stats(),
    flush() {
      return flushes.wait(evictor.flush());
    },
    async stop() {
      evictor.stop();
      // The thread ends after its run in progress; if the report cannot come (the loop is
      // going away), close() below joins it all the same.
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      evictor.close();
      flushes.releaseAll();
      if (fd >= 0) closeSync(fd);
    },
  };
}
