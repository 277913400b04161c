/**
 * What the handler does when a serve loop cannot finish its work: a worker
 * that died, a resolver that never returns, and close() with faults it could
 * not answer in time. The rule throughout: a thread parked on a fault gets
 * its page, its region's failure policy, or (re-delivery) a fresh fault that a
 * living worker serves; never silence.
 *
 * - Death (onDeath): the worker's lead and slot are freed, every served range
 *   is woken (a wake without an install makes each parked thread fault again,
 *   so what the dead worker held is read again by a living one), an 'error'
 *   says what happened, and a new serve loop with every live region's
 *   resolver takes the worker's place. Sleeping workers do the first two
 *   themselves (native serve/fault_waiter.cc) when the main thread is busy
 *   or is itself parked on a fault.
 * - A resolver call that never returns (watchdog): the main thread answers
 *   that page with the region's policy (ERR_FAULTLINE_RESOLVER_TIMEOUT) and
 *   terminates the worker stuck in it; the death path replaces it.
 * - close() (answerLeftovers): faults still queued are read here and answered
 *   with the policy; faults held by a stuck resolver call too.
 */
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import { ResolverFailure, type FailureAction } from '../events.js';
import type { ControlBlock } from '../shared/control-block.js';
import { FLAG_ON_ERROR_ZERO, LookupResult, type RegionTable } from '../shared/region-table.js';
import type { StatsBlock } from '../shared/region-stats.js';
import type { UffdTable } from '../shared/uffd-table.js';
import { FailurePolicy } from '../worker/failure.js';
import { Installer } from '../worker/installer.js';
import type { ToWorker } from '../worker/protocol.js';
import type { WorkerPool } from './worker-pool.js';

/** What recovery needs to know of the live regions. */
export interface LiveRegions {
  /** The load-resolver messages of every live region (a replacement worker gets them all). */
  loadMessages(): Extract<ToWorker, { type: 'load-resolver' }>[];
  /** Region `regionId`'s resolveTimeoutMs and name. */
  limits(regionId: number): { resolveTimeoutMs: number; name: string } | undefined;
}

export interface RecoveryDeps {
  table: RegionTable;
  uffds: UffdTable;
  stats: StatsBlock;
  control: ControlBlock;
  pool: () => WorkerPool;
  regions: LiveRegions;
  pageSize: number;
  epochMs: number;
  resolverLoadTimeoutMs: number;
  /** Emits on the handler's 'error'. */
  emitError: (err: FaultlineError) => void;
}

/** How often the watchdog looks for resolver calls past their deadline. */
const WATCHDOG_MS = 250;
const UFFD_MSG_BYTES = 32;
const UFFD_EVENT_PAGEFAULT = 0x12;

export class Recovery {
  private readonly failures: FailurePolicy;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RecoveryDeps) {
    this.failures = new FailurePolicy(
      new Installer(deps.stats, deps.pageSize),
      deps.stats,
      (regionId, address, offset, action, err) => deps.emitError(failureEvent(regionId, address, offset, action, err)),
      deps.pageSize,
      native.writeStderr,
      (regionId) => deps.regions.limits(regionId)?.name ?? '',
    );
  }

  startWatchdog(): void {
    this.watchdog = setInterval(() => this.checkResolverCalls(), WATCHDOG_MS);
    this.watchdog.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.watchdog);
  }

  /** Worker `w` died (`reason`): recover what it held and replace it. */
  async onDeath(w: number, reason: string): Promise<void> {
    this.deps.control.releaseDeadWorker(w);
    this.wakeAllServedRanges();
    this.deps.emitError(
      new FaultlineError(
        'ERR_FAULTLINE_WORKER_DIED',
        `worker ${w} died (${reason}); the faults it held were re-delivered to the other workers and a new worker replaces it`,
      ),
    );
    try {
      const pool = this.deps.pool();
      await pool.respawn(w);
      for (const load of this.deps.regions.loadMessages()) {
        await pool.request(load, (reply) => loadReply(reply, load.regionId), this.deps.resolverLoadTimeoutMs, 'ERR_FAULTLINE_RESOLVER_LOAD_TIMEOUT', [w]);
      }
    } catch (err) {
      this.deps.emitError(
        new FaultlineError('ERR_FAULTLINE_WORKER_START', `the worker replacing worker ${w} did not start: ${(err as Error).message}`, { cause: err }),
      );
    }
  }

  /** Wakes every range of every served uffd: each parked thread faults again. */
  wakeAllServedRanges(): void {
    for (const e of this.deps.table.snapshot()) {
      const fd = this.deps.uffds.fdOf(e.uffdId);
      if (fd >= 0) native.uffdWake(fd, e.start, e.length); // -errno (a closed uffd): nobody left to wake
    }
  }

  /**
   * Resolver calls past their region's deadline: the page gets the region's
   * policy from here, and the worker stuck in the call is terminated.
   */
  checkResolverCalls(): void {
    const { control, pool } = this.deps;
    const now = Date.now() - this.deps.epochMs;
    const workers = pool().size;
    for (let w = 0; w < workers; w++) {
      const call = control.resolverCall(w);
      if (!call) continue;
      const limit = this.deps.regions.limits(call.regionId)?.resolveTimeoutMs;
      if (limit === undefined || now - call.since <= limit) continue;
      if (!control.claimResolverCall(w, call.since)) continue; // it returned meanwhile
      this.failPage(
        call.uffdId,
        call.page,
        new FaultlineError(
          'ERR_FAULTLINE_RESOLVER_TIMEOUT',
          `the resolver did not return within ${limit} ms (region resolveTimeoutMs); worker ${w}, stuck in it, is replaced`,
        ),
      );
      pool().terminate(w);
    }
  }

  /**
   * close() ran out of time: answers, with each region's policy, what is
   * still queued on the uffds and what stuck resolver calls hold. Returns how
   * many faults it answered.
   */
  answerLeftovers(): number {
    let answered = 0;
    const { control, pool, uffds } = this.deps;
    for (let w = 0; w < pool().size; w++) {
      const call = control.resolverCall(w);
      if (!call || !control.claimResolverCall(w, call.since)) continue;
      this.failPage(call.uffdId, call.page, new FaultlineError('ERR_FAULTLINE_CLOSED', 'the FaultHandler closed while the resolver was still working on this page'));
      answered++;
    }
    const buf = new Uint8Array(UFFD_MSG_BYTES * 64);
    const view = new DataView(buf.buffer);
    uffds.fds.forEach((fd, uffdId) => {
      if (fd < 0) return;
      native.setBlocking(fd, false); // read what is queued without waiting for more
      for (;;) {
        const n = native.uffdRead(fd, buf);
        if (n <= 0) break;
        for (let i = 0; i < n; i++) {
          if (buf[i * UFFD_MSG_BYTES] !== UFFD_EVENT_PAGEFAULT) continue;
          const address = Number(view.getBigUint64(i * UFFD_MSG_BYTES + 16, true));
          this.failPage(uffdId, address - (address % this.deps.pageSize), new FaultlineError('ERR_FAULTLINE_CLOSED', 'the FaultHandler closed before this fault was served'));
          answered++;
        }
      }
    });
    return answered;
  }

  /** The region's policy for `page` of uffd `uffdId`, from this thread, reported on 'error'. */
  private failPage(uffdId: number, page: number, err: FaultlineError): FailureAction {
    const fd = this.deps.uffds.fdOf(uffdId);
    if (fd < 0) return 'none';
    const hit = new LookupResult();
    if (!this.deps.table.lookup(uffdId, page, hit)) return this.failures.unknownAddress(fd, uffdId, page);
    const ps = hit.pageSize || this.deps.pageSize;
    const aligned = page - (page % ps); // hugetlbfs: the whole huge page
    const offset = hit.offset + (aligned - hit.start);
    return this.failures.fail(fd, hit.regionId, aligned, ps, offset, (hit.flags & FLAG_ON_ERROR_ZERO) !== 0, err);
  }
}

/** Matches a worker's answer to loading region `regionId`'s resolver. */
export function loadReply(reply: { type: string; regionId?: number; error?: { code: string; message: string } }, regionId: number) {
  if (reply.type !== 'resolver-loaded' || reply.regionId !== regionId) return { matched: false };
  if (!reply.error) return { matched: true };
  return { matched: true, error: new FaultlineError(reply.error.code, reply.error.message) };
}

/** The 'error' event for a failure answered from the main thread. */
export function failureEvent(regionId: number, address: number, offset: number, action: FailureAction, err: unknown): ResolverFailure {
  const e = err as { code?: string; message?: string };
  return new ResolverFailure(
    e.code ?? 'ERR_FAULTLINE_RESOLVER_FAILED',
    `resolver failed at 0x${address.toString(16)} (region ${regionId}, offset ${offset}); the faulting thread was ` +
      `${action === 'poisoned' ? 'sent SIGBUS (page poisoned)' : action === 'zeroed' ? 'given a zero page' : 'woken'}: ${e.message ?? String(err)}`,
    regionId,
    address,
    offset,
    action,
  );
}
