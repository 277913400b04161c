// The stress run's custom resolver: pattern content produced in JS (so the
// JS resolver path is exercised, not only the native built-ins), plus the
// misbehaviour a scenario asks for through its options:
//   failEvery/permanent  throw for 1 page in `failEvery` (pages picked by
//                        chosenPage, so the checker knows which): once per
//                        page (transient, the shared `failedOnce` bitmap
//                        remembers) or on every call (permanent)
//   kill                 about once per `everyMs`, end this worker: process.exit(1),
//                        or an uncaught throw from a timer, alternately
//   called               a shared bitmap of the pages the resolver was asked for
//   asyncEvery           every n-th call answers from a timer (faults in flight)
// Shared state is SharedArrayBuffers in the options: every worker (and every
// replacement worker) sees the same bitmaps and counters.
import { fillPattern } from '../../dist/index.js';

/** True for about 1 page in `every`: a fixed hash of (page, salt), so runs repeat. */
export function chosenPage(page, salt, every) {
  let h = Math.imul((page ^ Math.imul(salt, 0x27d4eb2f)) >>> 0, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % every === 0;
}

/** Sets bit `i`; returns whether it was already set. */
function testAndSet(bits, i) {
  const bit = 1 << (i & 31);
  return (Atomics.or(bits, i >>> 5, bit) & bit) !== 0;
}

export default function create(options) {
  const seed = options.seed ?? 0;
  const failEvery = options.failEvery ?? 0;
  const salt = options.salt ?? 0;
  const failedOnce = options.failedOnce ? new Int32Array(options.failedOnce) : null;
  const called = options.called ? new Int32Array(options.called) : null;
  const killAt = options.kill ? new BigInt64Array(options.kill.at) : null;
  const kills = options.kill ? new Int32Array(options.kill.count) : null;
  const everyMs = BigInt(options.kill?.everyMs ?? 1000);
  const asyncEvery = options.asyncEvery ?? 0;
  let calls = 0;

  // Claims the next kill (one worker wins it) when its time has come.
  const killDue = () => {
    const at = Atomics.load(killAt, 0);
    const now = BigInt(Date.now());
    return now >= at && Atomics.compareExchange(killAt, 0, at, now + everyMs) === at;
  };

  return {
    resolve(request, out) {
      const page = Math.floor(request.offset / request.pageSize);
      const fill = () => fillPattern(seed, request.offset, out.subarray(0, request.length));
      if (called) testAndSet(called, page);
      if (failEvery > 0 && chosenPage(page, salt, failEvery)) {
        if (options.permanent || !testAndSet(failedOnce, page)) throw new Error(`stress: page ${page} fails on purpose`);
      }
      if (killAt && killDue()) {
        const n = Atomics.add(kills, 0, 1);
        if (n % 2 === 0) process.exit(1);
        setTimeout(() => {
          throw new Error('stress: uncaught, from a timer');
        }, 0);
        // The worker dies before this answers: the fault must be re-delivered.
        return new Promise((resolve) => setTimeout(() => resolve(fill()), 200));
      }
      if (asyncEvery > 0 && ++calls % asyncEvery === 0) {
        return new Promise((resolve) => setTimeout(() => resolve(fill()), 1));
      }
      return fill();
    },
  };
}
