// The stress scenarios, shared by `npm run stress` (scripts/stress.mjs, full
// size) and packages/core/test/stress.test.mjs (small size, in `npm test`).
// Each runs real uffd regions, two native faulting threads and a real worker
// pool, then checks every page and what the process got back. A scenario
// returns a row: its numbers and `failures`, the checks that did not hold.
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import native from '@faultline/native';
import testing from '@faultline/native/testing';
import { FaultHandler, resolvers } from '../../dist/index.js';
import { chosenPage } from './resolver.mjs';
import { checkRegion, expectedChunk } from './verify.mjs';
import { processState, settleTo } from './process-state.mjs';

const PS = native.pageSize();
const GIB = 1 << 30;
const STRESS_RESOLVER = new URL('./resolver.mjs', import.meta.url);

export const SCENARIOS = ['steady', 'flaky', 'worker-kills', 'close-under-load'];

export const DEFAULTS = {
  /** steady: faults in all (regions are mapped afresh each round of `gib`). */
  faults: 1_000_000,
  /** Size of the regions mapped at once, GiB (flaky and close-under-load: their whole size). */
  gib: 1,
  /** worker-kills: how long faults keep coming. */
  seconds: 10,
  /** flaky: 1 page in `failEvery` fails. */
  failEvery: 1000,
  /** worker-kills: a worker is killed about this often. */
  killEveryMs: 1000,
  /** A toucher making no progress this long is counted parked. */
  stallMs: 30_000,
  /** RSS may end this much above where it started (allocator and V8 slack). */
  rssTolerance: 64 << 20,
  /** close-under-load: close({ timeoutMs }). */
  closeTimeoutMs: 5000,
};

// ---------------------------------------------------------------- shared pieces

/** Collects 'error' events; byCode() counts them. */
function errorLog(handler) {
  const errors = [];
  handler.on('error', (e) => errors.push(e));
  return {
    errors,
    byCode() {
      const counts = {};
      for (const e of errors) counts[e.code] = (counts[e.code] ?? 0) + 1;
      return counts;
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms) {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await sleep(10);
  return cond();
}

const pagesOf = (bytes) => Math.floor(bytes / PS);

/** A SharedArrayBuffer bitmap with one bit per page. */
const bitmap = (pages) => new SharedArrayBuffer(Math.ceil(pages / 32) * 4);
const bitSet = (bits, i) => (bits[i >>> 5] & (1 << (i & 31))) !== 0;

const jsResolver = (options) => resolvers.custom(STRESS_RESOLVER, options);

function faultsOf(regions) {
  let n = 0;
  for (const r of regions) n += r.stats().faults;
  return n;
}

/**
 * Native threads touching every page of each target ({ region, threads })
 * at once, in random order. Resolves with the results, or with `parked`
 * counting touches still unfinished when the regions' fault counters stood
 * still for `stallMs` (a thread parked for good: it is released by the
 * close() the caller must then do, and `pending` settles after it).
 */
async function touch(targets, seed, stallMs) {
  const runs = targets.map(({ region, threads }, i) =>
    testing.touchPages(region.address, region.size, { threads, order: 'random', seed: seed + i, latencies: false }),
  );
  const done = runs.map(() => false);
  const results = runs.map((p, i) => p.then((r) => ((done[i] = true), r)));
  const all = Promise.all(results);
  const regions = targets.map((t) => t.region);
  let last = -1;
  let still = Date.now();
  for (;;) {
    const finished = await Promise.race([all.then(() => true), sleep(250).then(() => false)]);
    if (finished) return { results: await all, parked: 0 };
    const now = faultsOf(regions);
    if (now !== last) {
      last = now;
      still = Date.now();
    } else if (Date.now() - still > stallMs) {
      return { results: null, parked: done.filter((d) => !d).length, pending: all };
    }
  }
}

/** Writes `bytes` of pattern(seed) to a temp file for the file resolver. */
function patternFile(bytes, seed) {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-stress-'));
  const path = join(dir, 'pattern.bin');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024 * PS);
  for (let page = 0; page < pagesOf(bytes); page += 1024) {
    const n = Math.min(1024, pagesOf(bytes) - page);
    writeSync(fd, expectedChunk(seed, page, n, chunk));
  }
  closeSync(fd);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A row's numbers start here; every scenario fills what applies. */
function newRow(scenario) {
  return { scenario, faults: 0, seconds: 0, wrong: 0, parked: 0, silentZeros: 0, errors: {}, fdDelta: 0, threadDelta: 0, rssDelta: 0, failures: [] };
}

/**
 * Checks a region that must hold pattern `seed` (null: zeros) everywhere
 * except `zeroPages`, and that the toucher read exactly that (checksum).
 */
function checkServed(row, name, region, seed, touched, zeroPages) {
  const c = checkRegion(region.buffer, seed, { zeroPages });
  row.wrong += c.wrong.length;
  row.silentZeros += c.zero.length;
  if (c.wrong.length) row.failures.push(`${name}: ${c.wrong.length} wrong page(s), first ${c.wrong.slice(0, 5).join(', ')}`);
  if (c.zero.length) row.failures.push(`${name}: ${c.zero.length} page(s) read zero unreported, first ${c.zero.slice(0, 5).join(', ')}`);
  if (touched && touched.checksum !== c.checksum) {
    row.failures.push(`${name}: the faulting threads read other bytes than the region holds (checksum ${touched.checksum} != ${c.checksum})`);
  }
}

/** Releases parked touchers (close) if there are any, and records them. */
async function parkedFailure(row, handler, t, what) {
  row.parked += t.parked;
  row.failures.push(`${what}: ${t.parked} toucher(s) parked (no fault served for a while)`);
  if (!handler.closed) await handler.close({ timeoutMs: 2000 });
  await t.pending;
}

// ---------------------------------------------------------------- scenarios

/**
 * steady: `faults` faults over rounds of freshly mapped regions totalling
 * `gib` — native pattern, file and zero resolvers and the JS resolver — two
 * threads touching each region in random order; every page checked.
 */
async function steady(o, row, log) {
  const roundPages = pagesOf(o.gib * GIB);
  const layout = [
    { kind: 'pattern', share: 3 / 8 },
    { kind: 'file', share: 1 / 4 },
    { kind: 'js', share: 1 / 4 },
    { kind: 'zero', share: 1 / 8 },
  ];
  const FILE_SEED = 0xf11e;
  const file = patternFile(Math.max(1, Math.ceil(roundPages / 4)) * PS, FILE_SEED);
  const handler = await FaultHandler.create({ workers: 2 });
  const log_ = errorLog(handler);
  try {
    for (let round = 0; row.faults < o.faults; round++) {
      const pages = Math.min(roundPages, o.faults - row.faults);
      const sizes = layout.map((l) => Math.max(1, Math.floor(pages * l.share)));
      sizes[0] += Math.max(0, pages - sizes.reduce((a, b) => a + b, 0));
      const regions = [];
      for (const [i, l] of layout.entries()) {
        const seed = round * 16 + i + 1;
        const resolver =
          l.kind === 'pattern' ? resolvers.pattern({ seed })
          : l.kind === 'file' ? resolvers.file(file.path)
          : l.kind === 'js' ? jsResolver({ seed })
          : resolvers.zero();
        const expect = l.kind === 'file' ? FILE_SEED : l.kind === 'zero' ? null : seed;
        regions.push({ kind: l.kind, expect, region: await handler.map({ size: sizes[i] * PS, resolver }) });
      }
      for (const r of regions) {
        const t0 = performance.now();
        const t = await touch([{ region: r.region, threads: 2 }], round * 7 + 1, o.stallMs);
        row.seconds += (performance.now() - t0) / 1000;
        if (t.parked) return await parkedFailure(row, handler, t, `round ${round} ${r.kind}`);
        checkServed(row, `round ${round} ${r.kind}`, r.region, r.expect, t.results[0]);
      }
      row.faults += faultsOf(regions.map((r) => r.region));
      for (const r of regions) await r.region.unmap();
      log(`steady: round ${round}: ${row.faults} faults, ${(row.faults / row.seconds).toFixed(0)}/s`);
    }
    if (!(await handler.idle(5000))) row.failures.push('the handler is not idle after the last round');
  } finally {
    if (!handler.closed) await handler.close();
    file.cleanup();
    row.errors = log_.byCode();
  }
  if (log_.errors.length) row.failures.push(`unexpected 'error' events: ${JSON.stringify(row.errors)}`);
}

/**
 * flaky: the JS resolver throws for 1 page in `failEvery`. Region A fails
 * each such page once, under onError { retry: 1, then: 'sigbus' }: the retry
 * succeeds, every page is right and nothing is reported. Region B fails them
 * for good, under onError 'zero': exactly those pages are zero, with one
 * 'error' (action 'zeroed') each.
 */
async function flaky(o, row, log) {
  const half = Math.max(1, Math.floor(pagesOf(o.gib * GIB) / 2));
  const handler = await FaultHandler.create({ workers: 2 });
  const log_ = errorLog(handler);
  try {
    const transient = await handler.map({
      size: half * PS,
      resolver: jsResolver({ seed: 101, failEvery: o.failEvery, salt: 1, failedOnce: bitmap(half) }),
      onError: { retry: 1, then: 'sigbus' },
    });
    const permanent = await handler.map({
      size: half * PS,
      resolver: jsResolver({ seed: 202, failEvery: o.failEvery, salt: 2, permanent: true }),
      onError: 'zero',
    });
    const failing = (salt) => Array.from({ length: half }, (_, p) => p).filter((p) => chosenPage(p, salt, o.failEvery));
    const transientPages = failing(1);
    const permanentPages = new Set(failing(2));
    if (transientPages.length === 0 || permanentPages.size === 0) {
      row.failures.push(`too small to fail: ${transientPages.length} transient, ${permanentPages.size} permanent failing pages (raise --gib)`);
    }
    for (const [name, region, seed, zero] of [
      ['transient', transient, 101, () => false],
      ['permanent', permanent, 202, (p) => permanentPages.has(p)],
    ]) {
      const t0 = performance.now();
      const t = await touch([{ region, threads: 2 }], seed, o.stallMs);
      row.seconds += (performance.now() - t0) / 1000;
      if (t.parked) return await parkedFailure(row, handler, t, name);
      checkServed(row, name, region, seed, t.results[0], zero);
      log(`flaky: ${name} region checked`);
    }
    row.faults = faultsOf([transient, permanent]);
    await until(() => log_.errors.length >= permanentPages.size, 5000);
    await sleep(100); // anything beyond the expected would come by now
    const zeroed = log_.errors.filter(
      (e) => e.regionId === permanent.id && e.code === 'ERR_FAULTLINE_RESOLVER_FAILED' && e.action === 'zeroed',
    );
    const zeroedPages = new Set(zeroed.map((e) => (e.address - permanent.address) / PS));
    const same = zeroedPages.size === permanentPages.size && [...permanentPages].every((p) => zeroedPages.has(p));
    if (!same || zeroed.length !== permanentPages.size) {
      row.failures.push(`permanent: ${zeroed.length} 'zeroed' errors for ${zeroedPages.size} pages; expected one for each of ${permanentPages.size} failing pages`);
    }
    if (log_.errors.length !== zeroed.length) {
      row.failures.push(`${log_.errors.length - zeroed.length} other 'error' events (the transient failures must be retried silently)`);
    }
    if (!(await handler.idle(5000))) row.failures.push('the handler is not idle at the end');
  } finally {
    if (!handler.closed) await handler.close();
    row.errors = log_.byCode();
  }
}

/**
 * worker-kills: for `seconds`, rounds of a JS-resolver region (whose resolver
 * kills its worker about every `killEveryMs`: process.exit, or an uncaught
 * throw from a timer) and a native pattern region, one faulting thread on
 * each. Every page must be right, every death reported, no thread parked.
 */
async function workerKills(o, row, log) {
  const roundPages = Math.max(2, Math.floor(pagesOf(o.gib * GIB) / 4));
  const kill = { at: new SharedArrayBuffer(8), count: new SharedArrayBuffer(4), everyMs: o.killEveryMs };
  const kills = new Int32Array(kill.count);
  const handler = await FaultHandler.create({ workers: 2 });
  const log_ = errorLog(handler);
  const died = () => log_.errors.filter((e) => e.code === 'ERR_FAULTLINE_WORKER_DIED').length;
  try {
    Atomics.store(new BigInt64Array(kill.at), 0, BigInt(Date.now() + o.killEveryMs));
    const start = performance.now();
    for (let round = 0; round === 0 || performance.now() - start < o.seconds * 1000; round++) {
      const half = Math.floor(roundPages / 2);
      const seeds = [round * 2 + 1001, round * 2 + 1002];
      const js = await handler.map({ size: half * PS, resolver: jsResolver({ seed: seeds[0], kill }) });
      const nat = await handler.map({ size: half * PS, resolver: resolvers.pattern({ seed: seeds[1] }) });
      const t0 = performance.now();
      const t = await touch([{ region: js, threads: 1 }, { region: nat, threads: 1 }], round * 3 + 5, o.stallMs);
      row.seconds += (performance.now() - t0) / 1000;
      if (t.parked) return await parkedFailure(row, handler, t, `round ${round}`);
      checkServed(row, `round ${round} js`, js, seeds[0], t.results[0]);
      checkServed(row, `round ${round} native`, nat, seeds[1], t.results[1]);
      row.faults += faultsOf([js, nat]);
      await js.unmap();
      await nat.unmap();
      log(`worker-kills: round ${round}: ${row.faults} faults, ${Atomics.load(kills, 0)} workers killed`);
    }
    const killed = Atomics.load(kills, 0);
    await until(() => died() >= killed, 10_000);
    if (killed === 0) row.failures.push('no worker was killed (raise --seconds)');
    if (died() !== killed) row.failures.push(`${killed} workers killed, ${died()} ERR_FAULTLINE_WORKER_DIED events`);
    const others = log_.errors.filter((e) => e.code !== 'ERR_FAULTLINE_WORKER_DIED');
    if (others.length) row.failures.push(`unexpected 'error' events: ${others.map((e) => `${e.code}: ${e.message}`).slice(0, 3).join('; ')}`);
    if (!(await handler.idle(5000))) row.failures.push('the handler is not idle at the end');
  } finally {
    if (!handler.closed) await handler.close();
    row.errors = log_.byCode();
  }
}

/**
 * close-under-load: one thread faulting on a JS-resolver region (some answers
 * async, so faults are in a resolver's hands) and one on a native pattern
 * region, both onError 'zero' and `gib` in all; close({ timeoutMs }) once a
 * quarter of their pages are in, while both threads keep faulting. After
 * it every page is its bytes, a zero page that an 'error' reported, or plain
 * memory the resolver was never asked for (touched after the range was
 * unregistered, or never). A page the resolver was asked for that reads zero
 * unreported is a silent zero.
 */
async function closeUnderLoad(o, row, log) {
  const half = Math.max(1, Math.floor(pagesOf(o.gib * GIB) / 2));
  const called = bitmap(half);
  const calledBits = new Int32Array(called);
  const SEEDS = [3001, 3002];
  const handler = await FaultHandler.create({ workers: 2 });
  const log_ = errorLog(handler);
  try {
    const js = await handler.map({ size: half * PS, resolver: jsResolver({ seed: SEEDS[0], called, asyncEvery: 16 }), onError: 'zero' });
    const nat = await handler.map({ size: half * PS, resolver: resolvers.pattern({ seed: SEEDS[1] }), onError: 'zero' });
    const t0 = performance.now();
    const touching = touch([{ region: js, threads: 1 }, { region: nat, threads: 1 }], 77, o.stallMs);
    let finishedEarly = false;
    void touching.then(() => (finishedEarly = true));
    // close() once a quarter of the pages are in: the rest keep faulting through it.
    await until(() => finishedEarly || faultsOf([js, nat]) >= half / 2, 600_000);
    if (finishedEarly) row.failures.push('the touchers finished before close(): not under load (raise --gib)');
    const before = log_.errors.length;
    const report = await handler.close({ timeoutMs: o.closeTimeoutMs });
    row.close = report;
    log(`close-under-load: close() -> ${JSON.stringify(report)}`);
    const t = await touching;
    row.seconds = (performance.now() - t0) / 1000;
    if (t.parked) {
      row.parked += t.parked;
      row.failures.push(`${t.parked} toucher(s) still parked after close()`);
      await t.pending;
    }
    row.faults = faultsOf([js, nat]);
    if (before !== 0) row.failures.push(`${before} 'error' events before close()`);
    if (report.drained && (report.answeredAtClose !== 0 || report.unanswered !== 0)) {
      row.failures.push(`close report does not add up: drained, yet ${JSON.stringify(report)}`);
    }
    if (!report.drained) row.failures.push(`close() did not drain within ${o.closeTimeoutMs} ms: ${JSON.stringify(report)}`);
    if (report.unanswered !== 0) row.failures.push(`close() left ${report.unanswered} fault(s) unanswered`);
    const notClosed = log_.errors.filter((e) => e.code !== 'ERR_FAULTLINE_CLOSED');
    if (notClosed.length) row.failures.push(`'error' events other than ERR_FAULTLINE_CLOSED: ${notClosed.map((e) => e.code).join(', ')}`);
    // What every page holds now, classified.
    for (const [name, region, seed, tracked] of [['js', js, SEEDS[0], true], ['native', nat, SEEDS[1], false]]) {
      const reported = new Set(
        log_.errors.filter((e) => e.action === 'zeroed' && e.regionId === region.id).map((e) => (e.address - region.address) / PS),
      );
      const n = { served: 0, policy: 0, plain: 0, wrong: 0, silent: 0 };
      checkRegion(region.buffer, seed, {
        onPage(page, ok, zero) {
          if (ok && !reported.has(page)) n.served++;
          else if (zero && reported.has(page)) n.policy++;
          else if (zero && tracked && bitSet(calledBits, page)) n.silent++;
          else if (zero) n.plain++;
          else n.wrong++; // other bytes, or its bytes although an error said it was zeroed
        },
      });
      row.wrong += n.wrong;
      row.silentZeros += n.silent;
      log(`close-under-load: ${name}: ${JSON.stringify(n)}`);
      if (n.wrong) row.failures.push(`${name}: ${n.wrong} page(s) neither their bytes nor zero, or contradicting an 'error'`);
      if (n.silent) row.failures.push(`${name}: ${n.silent} page(s) the resolver was asked for read zero with no 'error'`);
      if (n.policy !== reported.size) row.failures.push(`${name}: ${reported.size} pages reported zeroed, ${n.policy} of them zero`);
      if (n.served + n.policy + n.plain + n.wrong + n.silent !== half) row.failures.push(`${name}: page counts do not add up to ${half}`);
      if (n.served === 0) row.failures.push(`${name}: no page was served before close()`);
    }
    const zeroedErrors = log_.errors.filter((e) => e.action === 'zeroed').length;
    if (zeroedErrors < report.answeredAtClose) row.failures.push(`answeredAtClose ${report.answeredAtClose} but only ${zeroedErrors} 'zeroed' errors`);
  } finally {
    if (!handler.closed) await handler.close();
    row.errors = log_.byCode();
  }
}

const RUN = { steady, flaky, 'worker-kills': workerKills, 'close-under-load': closeUnderLoad };

/**
 * Runs scenario `name` with options `o` (DEFAULTS filled in) and checks that
 * fds, threads and RSS come back to where they were. `log` gets progress lines.
 */
export async function runScenario(name, options = {}, log = () => undefined) {
  const o = { ...DEFAULTS, ...options };
  if (!RUN[name]) throw new Error(`unknown scenario '${name}'; scenarios: ${SCENARIOS.join(', ')}`);
  const row = newRow(name);
  const baseline = processState();
  const wall = performance.now();
  try {
    await RUN[name](o, row, log);
  } catch (err) {
    row.failures.push(`threw: ${err?.stack ?? err}`);
  }
  const delta = await settleTo(baseline, { rssTolerance: o.rssTolerance });
  row.fdDelta = delta.fds;
  row.threadDelta = delta.threads;
  row.rssDelta = delta.rss;
  row.wallSeconds = (performance.now() - wall) / 1000;
  if (delta.fds > 0) row.failures.push(`${delta.fds} fd(s) more than at the start (new: ${delta.newFds.join(', ')})`);
  if (delta.threads > 0) row.failures.push(`${delta.threads} thread(s) more than at the start`);
  if (delta.rss > o.rssTolerance) row.failures.push(`RSS ${(delta.rss / 2 ** 20).toFixed(0)} MiB above the start (tolerance ${o.rssTolerance / 2 ** 20} MiB)`);
  return row;
}

/**
 * Settles the process before a baseline is taken: node starts its libuv
 * thread pool and V8 helper threads on first use, which is not a leak.
 */
export async function warmUp() {
  const { readFile } = await import('node:fs/promises');
  await Promise.all(Array.from({ length: 8 }, () => readFile('/proc/self/status')));
  await settleTo(processState(), { timeoutMs: 200, rssTolerance: Infinity });
}

/** The table `npm run stress` prints (markdown, so docs/stress.md can hold it as is). */
export function formatTable(rows) {
  const mib = (b) => `${b >= 0 ? '+' : ''}${(b / 2 ** 20).toFixed(1)} MiB`;
  const signed = (n) => (n > 0 ? `+${n}` : String(n));
  const codes = (errors) =>
    Object.entries(errors)
      .map(([code, n]) => `${code.replace(/^ERR_FAULTLINE_/, '')}: ${n}`)
      .join(', ') || 'none';
  const header = ['scenario', 'faults', 'seconds', 'faults/s', 'wrong pages', 'parked', 'silent zeros', 'errors by code', 'fd delta', 'thread delta', 'RSS delta', 'result'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((h, i) => (i === 0 || i === 7 || i === 11 ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.scenario,
        r.faults,
        r.seconds.toFixed(1),
        r.seconds > 0 ? Math.round(r.faults / r.seconds) : '-',
        r.wrong,
        r.parked,
        r.silentZeros,
        codes(r.errors),
        signed(r.fdDelta),
        signed(r.threadDelta),
        mib(r.rssDelta),
        r.failures.length ? 'FAIL' : 'ok',
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
