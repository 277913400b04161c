/**
 * A prefetch: one thread that installs a recorded working set into a served
 * region ahead of the faults, in recorded order, runs of consecutive pages as
 * one UFFDIO_COPY each. It runs beside the serve loops; a page a demand fault
 * installed first comes back EEXIST and is skipped. The working set runs at
 * normal priority (the restored program needs it now: at nice +10 on one CPU
 * it installed nothing before the program faulted it all in); what fill: 'all'
 * adds after it runs at nice +10, so demand faults get the CPU first.
 *
 * Bytes come from the trace file's page data (one sequential read through a
 * large window) or, without data, from the region's resolver loaded here,
 * up to 16 runs in flight (a resolver behind a network pays its round trip
 * per lane-full of runs, not per run); a resolver that declares `bulk` gets
 * spans of the working set by address instead (installSpans). Before each run, and again before
 * installing what a resolver produced, the region table must still say the
 * range is this region's and undiscarded (a REMOVE, UNMAP, REMAP or unmap
 * cancels what is left of it), and the main thread can cancel the whole
 * prefetch (unmap, close).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import native from '@faultline/native';
import { codeOf } from '../errors.js';
import type { PageResolver, ResolveResult, ResolverInfo, ResolverSpec } from '../resolver.js';
import { ENTRY_REGION, LookupResult, RegionTable } from '../shared/region-table.js';
import type { PrefetchReport } from '../trace/plan.js';
import { ResolverRegistry } from './resolver-registry.js';
import { spansOf, type SpanPlan } from './prefetch-spans.js';

export interface PrefetchJob {
  fd: number;
  uffdId: number;
  regionId: number;
  tableSab: SharedArrayBuffer;
  /** Address of the region's page 0 when the prefetch started. */
  address: number;
  /** Resolver offset of page 0 (adopt's `offset`). */
  offset: number;
  pageSize: number;
  pages: Uint32Array;
  data?: { path: string; offset: number };
  /** The region's resolver, loaded in this thread when pages come without data (and for fill: 'all'). */
  resolver: { spec: ResolverSpec; info: ResolverInfo };
  /** 'all': after the plan, every other page of the region, in address order, at most `fillRate` bytes/s. */
  fill: 'working-set' | 'all';
  /** Bytes per second for the fill after the working set; 0: no limit. */
  fillRate: number;
  /** Pages in the region. */
  regionPages: number;
  /** Int32Array word 0: set to 1 by the main thread to stop. */
  cancelSab: SharedArrayBuffer;
  /** Largest single install, bytes. */
  maxRunBytes: number;
  /** The region tracks writes: install write-protected (UFFDIO_COPY_MODE_WP). */
  writeProtect: boolean;
}

const { EEXIST, EAGAIN, ENOENT, ESRCH, UFFDIO_COPY_MODE_WP: COPY_MODE_WP } = native.constants;
const EAGAIN_RETRIES = 64;
const DATA_WINDOW = 8 << 20;
/** Resolver calls in flight at once (each with its own scratch run); enough to hide a network round trip per run. */
const RESOLVER_LANES = 16;

/** Reads the trace's page data front to back through one large window. */
class DataWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  constructor(private readonly fh: FileHandle) {}

  /** `length` bytes at file position `at`, as a view valid until the next call. */
  async bytes(at: number, length: number): Promise<Buffer> {
    if (at < this.start || at + length > this.end) {
      const size = Math.max(DATA_WINDOW, length);
      if (this.buf.length < size) this.buf = Buffer.alloc(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await this.fh.read(this.buf, done, size - done, at + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      this.start = at;
      this.end = at + done;
      if (done < length) throw Object.assign(new Error(`the trace's page data ends at byte ${this.end}, before ${at + length}`), { code: 'ERR_FAULTLINE_TRACE_DATA' });
    }
    return this.buf.subarray(at - this.start, at - this.start + length);
  }
}

interface Run {
  /** Region page index of the run's first page. */
  first: number;
  /** Pages. */
  n: number;
  /** Position of the first page in its list (its place in the trace's page data). */
  index: number;
}

/** Runs of consecutive page indexes, in list order, at most `maxRun` pages each. */
function* runsOf(pages: ArrayLike<number>, maxRun: number): Generator<Run> {
  for (let i = 0; i < pages.length; ) {
    let n = 1;
    while (i + n < pages.length && n < maxRun && pages[i + n] === pages[i]! + n) n++;
    yield { first: pages[i]!, n, index: i };
    i += n;
  }
}

/** The region's pages the plan does not list, in address order (fill: 'all'). */
function restOf(plan: Uint32Array, regionPages: number): Uint32Array {
  const listed = new Uint8Array(regionPages);
  for (const p of plan) if (p < regionPages) listed[p] = 1;
  const rest = new Uint32Array(regionPages - listed.reduce((n, x) => n + x, 0));
  let k = 0;
  for (let p = 0; p < regionPages; p++) if (listed[p] === 0) rest[k++] = p;
  return rest;
}

async function run(job: PrefetchJob): Promise<PrefetchReport> {
  const t0 = performance.now();
  const ps = job.pageSize;
  const rest = job.fill === 'all' ? restOf(job.pages, job.regionPages) : new Uint32Array(0);
  const report: PrefetchReport = {
    pages: job.pages.length + rest.length,
    installed: 0,
    installedOnFaults: 0,
    alreadyPresent: 0,
    cancelled: 0,
    failed: 0,
    ms: 0,
    workingSetMs: 0,
  };
  const cancel = new Int32Array(job.cancelSab);
  const table = new RegionTable(job.tableSab);
  const hit = new LookupResult();
  const maxRun = Math.max(1, Math.floor(job.maxRunBytes / ps));
  let fh: FileHandle | null = null;
  const registry = new ResolverRegistry();
  let resolver: Promise<PageResolver> | null = null;
  // Memoised as a promise: the lanes below ask for it at once.
  const loadResolver = (): Promise<PageResolver> =>
    (resolver ??= registry
      .load(job.regionId, job.resolver.spec, job.resolver.info, { resolveTimeoutMs: 60_000, retries: 0 })
      .then(() => registry.get(job.regionId)!));
  const fromResolver = async (r: Run, scratch: Buffer): Promise<Uint8Array | null> =>
    produce(await loadResolver(), job, scratch, job.address + r.first * job.pageSize, r.first, r.n);
  /** The run's range is still this region's, at the same place, not discarded. */
  const ours = (address: number, r: Run): boolean => servedHere(table, hit, job, address, r.first, r.n);
  /**
   * Installs `runs` through up to RESOLVER_LANES resolver calls in flight
   * (one lane, as before, when `rate` limits the pace: a sleep blocks the
   * thread). Each lane takes the next run in plan order and installs it as
   * soon as its bytes arrive, so a slow resolver (a network round trip per
   * run) costs its latency once per lane-full of runs, not once per run.
   * Every page of `runs` ends in exactly one count. False once cancelled.
   */
  const installRuns = async (runs: Iterable<Run>, total: number, rate: number): Promise<boolean> => {
    const next = runs[Symbol.iterator]();
    let handedOut = 0; // pages of runs taken by a lane (or counted cancelled)
    let cancelled = false;
    let bytesSoFar = 0;
    const started = performance.now();
    const stop = (): void => {
      if (!cancelled) report.cancelled += total - handedOut; // what no lane took yet
      cancelled = true;
      handedOut = total;
    };
    const lane = async (): Promise<void> => {
      let scratch: Buffer | null = null; // allocated on a lane's first run: a short plan needs few
      for (;;) {
        if (cancelled || Atomics.load(cancel, 0) !== 0) return stop();
        const step = next.next();
        if (step.done) return;
        const r = step.value;
        handedOut += r.n;
        const address = job.address + r.first * ps;
        // Still this region's, still where it was, not discarded: else skip the run.
        if (!ours(address, r)) {
          report.cancelled += r.n;
          continue;
        }
        scratch ??= Buffer.alloc(maxRun * ps);
        let bytes: Uint8Array | null;
        try {
          bytes = await fromResolver(r, scratch);
        } catch (err) {
          bytes = null;
          report.error ??= { code: codeOf(err, 'ERR_FAULTLINE_RESOLVER_FAILED'), message: (err as Error)?.message ?? String(err) };
        }
        if (bytes === null) {
          report.failed += r.n; // left to demand faults, which apply the region's policy
          continue;
        }
        // The call took a while: cancelled, or the range removed or moved meanwhile, the run is not ours to install.
        if (Atomics.load(cancel, 0) !== 0 || !ours(address, r)) {
          report.cancelled += r.n;
          if (Atomics.load(cancel, 0) !== 0) return stop();
          continue;
        }
        install(job, report, address, bytes, r.n);
        bytesSoFar += r.n * ps;
        if (rate > 0) {
          // Ahead of the rate: sleep it off (a cancel wakes the sleep).
          const ahead = (bytesSoFar / rate) * 1000 - (performance.now() - started);
          if (ahead > 1) Atomics.wait(cancel, 0, 0, ahead);
        }
      }
    };
    const lanes = rate > 0 ? 1 : RESOLVER_LANES;
    await Promise.all(Array.from({ length: lanes }, lane));
    return !cancelled;
  };
  try {
    let workingSet: boolean;
    if (job.data) {
      fh = await open(job.data.path, 'r');
      workingSet = await installFromData(job, report, new DataWindow(fh), cancel, table, hit);
    } else {
      const resolver = await loadResolver();
      const bulk = bulkGapPages(resolver, ps);
      workingSet =
        bulk === null
          ? await installRuns(runsOf(job.pages, maxRun), job.pages.length, 0)
          : await installSpans(job, report, resolver, spansOf(job.pages, bulk, maxRun), cancel, (address, first, n) =>
              servedHere(table, hit, job, address, first, n),
            );
    }
    report.workingSetMs = performance.now() - t0;
    if (rest.length > 0) {
      if (!workingSet) report.cancelled += rest.length;
      else {
        lowerPriority();
        await installRuns(runsOf(rest, maxRun), rest.length, job.fillRate);
      }
    }
  } finally {
    await fh?.close().catch(() => undefined);
    await registry.dropAll();
  }
  report.ms = performance.now() - t0;
  return report;
}

/**
 * The working set from the trace's page data, in recorded order: batches of
 * pages (one window of data each) checked against the region table and
 * installed by one native call per batch (one UFFDIO_COPY per run of
 * consecutive addresses), so a page costs an ioctl, not a trip through JS.
 * False once cancelled.
 */
async function installFromData(job: PrefetchJob, report: PrefetchReport, data: DataWindow, cancel: Int32Array, table: RegionTable, hit: LookupResult): Promise<boolean> {
  const ps = job.pageSize;
  const batch = Math.max(1, Math.floor(DATA_WINDOW / ps));
  const dsts = new Float64Array(batch);
  const out = new Int32Array(batch);
  const mode = job.writeProtect ? COPY_MODE_WP : 0;
  const pages = job.pages;
  for (let i = 0; i < pages.length; i += batch) {
    const n = Math.min(batch, pages.length - i);
    if (Atomics.load(cancel, 0) !== 0) {
      report.cancelled += pages.length - i;
      return false;
    }
    let bytes: Uint8Array;
    try {
      bytes = await data.bytes(job.data!.offset + i * ps, n * ps);
    } catch (err) {
      report.failed += pages.length - i; // the data ends early: the rest is served on demand
      report.error ??= { code: codeOf(err, 'ERR_FAULTLINE_TRACE_DATA'), message: (err as Error)?.message ?? String(err) };
      return true;
    }
    for (let k = 0; k < n; k++) {
      const page = pages[i + k]!;
      const address = job.address + page * ps;
      // Still this region's, at the same place, not discarded: else it is not ours to fill.
      dsts[k] = servedHere(table, hit, job, address, page, 1) ? address : 0;
    }
    native.uffdCopyPages(job.fd, dsts, n, bytes, 0, ps, mode, out);
    for (let k = 0; k < n; k++) {
      const r = out[k]!;
      if (r === 1) report.installed++;
      else if (r === 0 && dsts[k] !== 0) report.alreadyPresent++;
      else if (r === 0 || r === -ENOENT || r === -ESRCH) report.cancelled++;
      else {
        report.failed++;
        report.error ??= { code: 'ERR_FAULTLINE_INSTALL_FAILED', message: `UFFDIO_COPY failed with errno ${-r}` };
      }
    }
  }
  return true;
}

/** Pages of gap a bulk resolver fetches along rather than start another request; null: not a bulk resolver. */
function bulkGapPages(resolver: PageResolver, ps: number): number | null {
  const gap = resolver.bulk?.gapBytes;
  if (typeof gap !== 'number' || !Number.isFinite(gap) || gap < 0) return null;
  return Math.floor(gap / ps);
}

/**
 * The working set through a bulk resolver (PageResolver.bulk): spans of it
 * (prefetch-spans.ts), RESOLVER_LANES in flight, each one resolver call
 * with `bulk: true` into the lane's own buffer, and as soon as its bytes
 * arrive one native call installs the span's working-set pages (one
 * UFFDIO_COPY per run of consecutive ones; the gap pages fetched along are
 * not installed). Every plan entry ends in exactly one count. False once
 * cancelled.
 */
async function installSpans(
  job: PrefetchJob,
  report: PrefetchReport,
  resolver: PageResolver,
  plan: SpanPlan,
  cancel: Int32Array,
  ours: (address: number, first: number, n: number) => boolean,
): Promise<boolean> {
  const ps = job.pageSize;
  const mode = job.writeProtect ? COPY_MODE_WP : 0;
  report.alreadyPresent += plan.duplicates; // a page listed twice is installed once
  let next = 0;
  let cancelled = false;
  const stop = (): void => {
    if (!cancelled) for (let i = next; i < plan.spans.length; i++) report.cancelled += plan.spans[i]!.wanted.length;
    cancelled = true;
    next = plan.spans.length;
  };
  const lane = async (): Promise<void> => {
    let scratch: Buffer | null = null; // allocated on a lane's first span, then reused: no garbage per span
    let dsts: Float64Array | null = null;
    let out: Int32Array | null = null;
    for (;;) {
      if (cancelled || Atomics.load(cancel, 0) !== 0) return stop();
      if (next >= plan.spans.length) return;
      const span = plan.spans[next++]!;
      const wanted = span.wanted.length;
      const address = job.address + span.first * ps;
      if (!ours(address, span.first, span.n)) {
        report.cancelled += wanted;
        continue;
      }
      scratch ??= Buffer.alloc(Math.floor(job.maxRunBytes / ps) * ps);
      dsts ??= new Float64Array(scratch.length / ps);
      out ??= new Int32Array(scratch.length / ps);
      let got: Produced | null;
      try {
        got = await produceSpan(resolver, job, scratch, address, span.first, span.n);
      } catch (err) {
        got = null;
        report.error ??= { code: codeOf(err, 'ERR_FAULTLINE_RESOLVER_FAILED'), message: (err as Error)?.message ?? String(err) };
      }
      if (got === null) {
        report.failed += wanted; // left to demand faults, which apply the region's policy
        continue;
      }
      // The call took a while: cancelled, or the range removed or moved meanwhile, the span is not ours to install.
      if (Atomics.load(cancel, 0) !== 0 || !ours(address, span.first, span.n)) {
        report.cancelled += wanted;
        if (Atomics.load(cancel, 0) !== 0) return stop();
        continue;
      }
      dsts.fill(0, 0, span.n);
      for (const k of span.wanted) {
        // Pages past what the resolver produced (the object ended) are not installed: demand faults apply the policy.
        if (k < got.pages) dsts[k] = address + k * ps;
        else report.failed++;
      }
      native.uffdCopyPages(job.fd, dsts, span.n, got.bytes, 0, ps, mode, out);
      for (const k of span.wanted) {
        if (dsts[k] === 0) continue;
        const r = out[k]!;
        if (r === 1) report.installed++;
        else if (r === 0) report.alreadyPresent++;
        else if (r === -ENOENT || r === -ESRCH) report.cancelled++;
        else {
          report.failed++;
          report.error ??= { code: 'ERR_FAULTLINE_INSTALL_FAILED', message: `UFFDIO_COPY failed with errno ${-r}` };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RESOLVER_LANES, plan.spans.length) }, lane));
  return !cancelled;
}

/** What a span's resolver call produced: its bytes, and how many whole pages of them are valid. */
interface Produced {
  bytes: Uint8Array;
  pages: number;
}

/** A span's bytes from a bulk resolver: all of them, or the first `filled` (the object ended); null for any other answer. */
async function produceSpan(resolver: PageResolver, job: PrefetchJob, scratch: Buffer, address: number, first: number, n: number): Promise<Produced | null> {
  const ps = job.pageSize;
  const out = scratch.subarray(0, n * ps);
  out.fill(0);
  const request = { offset: job.offset + first * ps, length: n * ps, address, write: false, minor: false, pageSize: ps, regionId: job.regionId, uffdId: job.uffdId, bulk: true };
  const result: ResolveResult = await resolver.resolve(request, out);
  if (result === undefined || result === null || result === 'zero') return { bytes: out, pages: n };
  if (typeof result === 'object' && 'source' in result && ArrayBuffer.isView(result.source) && result.source.byteLength >= n * ps) {
    return { bytes: new Uint8Array(result.source.buffer, result.source.byteOffset, n * ps), pages: n };
  }
  if (typeof result === 'object' && 'filled' in result && result.filled >= ps) return { bytes: out, pages: Math.min(n, Math.floor(result.filled / ps)) };
  return null; // a special answer: leave these pages to demand faults, which apply the rules
}

/** The background part of a fill yields to everything else (nice +10, this thread only). */
function lowerPriority(): void {
  try {
    setPriority(native.gettid(), 10);
  } catch {
    // not allowed to lower it: run at the same priority
  }
}

function servedHere(table: RegionTable, hit: LookupResult, job: PrefetchJob, address: number, first: number, n: number): boolean {
  const ps = job.pageSize;
  for (const a of [address, address + (n - 1) * ps]) {
    if (!table.lookup(job.uffdId, a, hit)) return false;
    if (hit.state !== ENTRY_REGION || hit.regionId !== job.regionId) return false;
    if (hit.offset + (a - hit.start) !== job.offset + (first + (a - address) / ps) * ps) return false;
  }
  return true;
}

/** The run's bytes from the resolver (undefined / { filled } / { source } / 'zero'); null for anything else. */
async function produce(resolver: PageResolver, job: PrefetchJob, scratch: Buffer, address: number, first: number, n: number): Promise<Uint8Array | null> {
  const ps = job.pageSize;
  const out = scratch.subarray(0, n * ps);
  out.fill(0);
  const request = { offset: job.offset + first * ps, length: n * ps, address, write: false, minor: false, pageSize: ps, regionId: job.regionId, uffdId: job.uffdId };
  const result: ResolveResult = await resolver.resolve(request, out);
  if (result === undefined || result === null || result === 'zero') return out;
  if (typeof result === 'object' && 'source' in result && ArrayBuffer.isView(result.source) && result.source.byteLength >= n * ps) {
    return new Uint8Array(result.source.buffer, result.source.byteOffset, n * ps);
  }
  if (typeof result === 'object' && 'filled' in result && result.filled >= n * ps) return out;
  return null; // a partial or special answer: leave these pages to demand faults, which apply the rules
}

/** Installs `n` pages at `address`; a page already there is skipped and the rest of the run continues. */
function install(job: PrefetchJob, report: PrefetchReport, address: number, bytes: Uint8Array, n: number): void {
  const ps = job.pageSize;
  let done = 0;
  let again = 0;
  while (done < n) {
    const res = native.uffdCopy(job.fd, address + done * ps, bytes, done * ps, (n - done) * ps, job.writeProtect ? COPY_MODE_WP : 0);
    if (res > 0) {
      done += res / ps;
      report.installed += res / ps;
      continue;
    }
    if (res === -EEXIST) {
      report.alreadyPresent++;
      done++;
    } else if (res === -EAGAIN && again++ < EAGAIN_RETRIES) {
      // The target's memory map is changing (an event being delivered): try again.
    } else {
      // ENOENT / ESRCH (range or process gone) or anything else: the rest is not ours to fill.
      report.cancelled += n - done;
      return;
    }
  }
}

const job = workerData as PrefetchJob;
run(job).then(
  (report) => parentPort!.postMessage({ type: 'done', report }),
  (err: unknown) =>
    parentPort!.postMessage({
      type: 'failed',
      error: { code: codeOf(err, 'ERR_FAULTLINE_RESOLVER_LOAD'), message: (err as Error)?.message ?? String(err) },
    }),
);
