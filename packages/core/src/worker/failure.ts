/**
 * What a fault that cannot be served gets. The rule: the faulting thread is
 * never left parked and never given bytes nobody produced without saying so.
 *
 * - Region policy 'sigbus' (the default): the page is poisoned (UFFDIO_POISON)
 *   and the thread gets SIGBUS.
 * - Region policy 'zero', or POISON refused (an adopted uffd whose peer did not
 *   negotiate UFFD_FEATURE_POISON): a zero page, reported as 'zeroed'.
 * - Neither installable: a bare WAKE (the thread faults again and the failure
 *   is reported again), reported as 'none'.
 *
 * Every failure is counted in the region's `errors` and reported to the main
 * thread (the handler's 'error' event) with what the thread got. Before a
 * page is poisoned the reason is written to stderr synchronously: the SIGBUS
 * may end the process (the faulting thread may be the main thread, which then
 * never sees the 'error' event), and a process that dies must say why.
 */
import { FaultlineError, codeOf } from '../errors.js';
import type { FailureAction } from '../events.js';
import { STAT, type StatsBlock } from '../shared/region-stats.js';
import type { FaultInstaller } from './installer.js';

/** Sends a failure to the main thread: region (-1: none), page, resolver offset (-1: none), what the thread got, why. */
export type FailureReporter = (regionId: number, address: number, offset: number, action: FailureAction, err: unknown) => void;

/** Writes one line to stderr before a SIGBUS, synchronously (native.writeStderr in the workers). */
export type SigbusNotice = (line: string) => void;

export class FailurePolicy {
  constructor(
    private readonly installer: FaultInstaller,
    private readonly stats: StatsBlock,
    private readonly report: FailureReporter,
    /** The system's page size (for addresses no region covers). */
    private readonly systemPageSize: number,
    private readonly notice: SigbusNotice,
    /** A region's name for messages ('' when unknown). */
    private readonly regionName: (regionId: number) => string,
  ) {}

  /**
   * A resolver or install failure for `page` of region `regionId`: counts it,
   * answers the thread (zero page when `zeroPolicy`, else SIGBUS) and reports.
   */
  fail(fd: number, regionId: number, page: number, pageSize: number, offset: number, zeroPolicy: boolean, err: unknown): FailureAction {
    this.stats.add(regionId, STAT.errors);
    const action = this.settle(fd, regionId, page, pageSize, zeroPolicy, () => this.describe(regionId, page, offset, err));
    this.report(regionId, page, offset, action, err);
    return action;
  }

  /**
   * A fault in registered memory that no served region covers: nobody can
   * produce it, so it fails loudly (SIGBUS) rather than read zeros the owner
   * never asked for.
   */
  unknownAddress(fd: number, uffdId: number, page: number): FailureAction {
    const err = new FaultlineError('ERR_FAULTLINE_UNKNOWN_ADDRESS', `fault at 0x${page.toString(16)} (uffd ${uffdId}) is in no served region`);
    const action = this.settle(fd, -1, page, this.systemPageSize, false, () => this.describe(-1, page, -1, err));
    this.report(-1, page, -1, action, err);
    return action;
  }

  /**
   * Answers the thread: poison unless `zeroPolicy` (announcing it on stderr
   * with `why()` first), else (or when POISON fails) a zero page, else a bare wake.
   */
  settle(fd: number, regionId: number, page: number, ps: number, zeroPolicy: boolean, why: () => string): FailureAction {
    if (!zeroPolicy) {
      this.notice(`faultline: SIGBUS for the thread touching ${why()}\n`);
      if (this.installer.install(fd, regionId, 'poison', page, ps, null, ps) === 0) return 'poisoned';
    }
    if (this.installer.install(fd, regionId, 'zero', page, ps, null, ps) === 0) return 'zeroed';
    this.installer.wake(fd, page, ps);
    return 'none';
  }

  private describe(regionId: number, page: number, offset: number, err: unknown): string {
    const name = regionId >= 0 ? this.regionName(regionId) : '';
    const where = regionId >= 0 ? `region ${regionId}${name ? ` "${name}"` : ''}, offset ${offset}` : 'no served region';
    const message = (err as { message?: unknown } | null)?.message;
    return `0x${page.toString(16)} (${where}): ${codeOf(err, 'ERR_FAULTLINE_RESOLVER_FAILED')}: ${typeof message === 'string' ? message : String(err)}`;
  }
}
