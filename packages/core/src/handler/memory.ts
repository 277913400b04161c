/**
 * What memory an own region is (map `backing`), how its range is registered
 * (`minor`, `trackWrites`) and how its pages go in (`install`): the checks
 * of those options and the mapping they make.
 *
 *   'anonymous'  MAP_PRIVATE|MAP_ANONYMOUS (the default): pages exist only in
 *                this mapping.
 *   'shmem'      MAP_SHARED|MAP_ANONYMOUS: shmem pages (shared with children
 *                forked later), installed by UFFDIO_COPY into the page cache.
 *   'memfd'      a memfd of the region's size mapped MAP_SHARED: the same
 *                page cache seen through any other mapping of the fd (another
 *                process's, or a resolver's). With `minor`, the range is also
 *                registered MINOR: a page already in the page cache but not
 *                yet mapped here raises a minor fault, answered 'continue'
 *                (UFFDIO_CONTINUE maps the page cache's page, no copy).
 *
 * MISSING stays registered with MINOR: a page nobody put in the page cache
 * still comes from the resolver (with request.minor false) instead of
 * silently reading zero, so the resolver decides what an absent page is.
 */
import native, { type Mapping } from '@faultline/native';
import { FaultlineError, invalidArgument } from '../errors.js';
import type { FeatureName } from '../features.js';
import { checkBoolean, describeValue } from '../validate.js';

export const BACKINGS = ['anonymous', 'memfd', 'shmem'] as const;
export type Backing = (typeof BACKINGS)[number];

export const INSTALL_MODES = ['copy', 'move'] as const;
export type InstallMode = (typeof INSTALL_MODES)[number];

export interface MemoryConfig {
  backing: Backing;
  minor: boolean;
  /** 'move' only where the kernel can move (see checkMemory). */
  install: InstallMode;
}

function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(value)}`);
  }
  return value as T;
}

/** The handler-wide default of map()'s `install` (FaultHandlerOptions.install). */
export function checkInstallMode(name: string, value: unknown): InstallMode {
  return value === undefined ? 'copy' : checkOneOf(name, value, INSTALL_MODES);
}

/**
 * map()'s backing, minor and install, checked against each other and the
 * region's page size. `defaultInstall` is the handler's: where the region
 * cannot move pages (shared memory, huge pages, write tracking) it falls back
 * to 'copy'; a region that asks for 'move' itself is refused instead.
 */
export function checkMemory(
  o: { backing?: unknown; minor?: unknown; install?: unknown; trackWrites?: unknown; maxResident?: unknown },
  regionPageSize: number,
  systemPageSize: number,
  defaultInstall: InstallMode,
): MemoryConfig {
  const backing = o.backing === undefined ? 'anonymous' : checkOneOf('backing', o.backing, BACKINGS);
  const minor = o.minor === undefined ? false : checkBoolean('minor', o.minor);
  if (backing !== 'anonymous' && regionPageSize !== systemPageSize) {
    throw invalidArgument(
      `backing '${backing}' takes the system page size (${systemPageSize}); a pageSize of ${regionPageSize} maps hugetlbfs memory: ` +
        "drop pageSize or use backing: 'anonymous'",
    );
  }
  if (backing !== 'anonymous' && o.maxResident !== undefined) {
    throw invalidArgument(
      `maxResident evicts private anonymous pages; backing '${backing}' keeps evicted pages in its page cache (MADV_DONTNEED frees ` +
        "only this mapping's view of them): drop maxResident or use backing: 'anonymous'",
    );
  }
  if (minor && backing !== 'memfd') {
    throw invalidArgument(
      `minor: true needs backing: 'memfd' (got '${backing}'): minor faults are for pages already in a page cache ` +
        'that another mapping of the same memfd fills',
    );
  }
  const asked = o.install === undefined ? undefined : checkOneOf('install', o.install, INSTALL_MODES);
  const cannotMove =
    backing !== 'anonymous'
      ? `backing '${backing}' (UFFDIO_MOVE moves private anonymous pages only)`
      : regionPageSize !== systemPageSize
        ? 'huge pages (UFFDIO_MOVE does not move hugetlbfs pages)'
        : o.trackWrites !== undefined && o.trackWrites !== false
          ? 'trackWrites (UFFDIO_MOVE cannot install write-protected)'
          : null;
  if (asked === 'move' && cannotMove !== null) {
    throw invalidArgument(`install: 'move' does not work with ${cannotMove}; use install: 'copy'`);
  }
  const install = asked ?? (cannotMove === null ? defaultInstall : 'copy');
  return { backing, minor, install };
}

/** The uffd features a region with `m` needs on the handler's uffd; throws naming the first one missing. */
export function checkMemoryFeatures(m: MemoryConfig, granted: readonly FeatureName[]): void {
  const needs: [FeatureName, string][] = [];
  if (m.backing !== 'anonymous') needs.push(['missing-shmem', `backing '${m.backing}'`]);
  if (m.minor) needs.push(['minor-shmem', 'minor: true']);
  if (m.install === 'move') needs.push(['move', "install: 'move'"]);
  for (const [feature, what] of needs) {
    if (!granted.includes(feature)) {
      throw new FaultlineError(
        'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
        `${what} needs the uffd feature ${feature}, which this kernel does not offer on the handler's uffd`,
      );
    }
  }
}

/** An own region's memory, and its memfd (-1 unless backing 'memfd'; the caller closes it). */
export interface RegionMemory {
  mapping: Mapping;
  memfd: number;
}

export function mapRegionMemory(size: number, pageSize: number, backing: Backing, name: string): RegionMemory {
  switch (backing) {
    case 'anonymous':
      return { mapping: native.mapAnonymous(size, pageSize === native.pageSize() ? {} : { hugePageSize: pageSize }), memfd: -1 };
    case 'shmem':
      return { mapping: native.mapAnonymous(size, { shared: true }), memfd: -1 };
    case 'memfd': {
      // The name shows in /proc/<pid>/maps and fd links ("memfd:faultline:<name>"): say whose it is.
      const memfd = native.memfdCreate(`faultline:${name}`.slice(0, 249), size);
      try {
        return { mapping: native.mapFd(memfd, size, 0), memfd };
      } catch (err) {
        native.closeFd(memfd);
        throw err;
      }
    }
  }
}

/** UFFDIO_REGISTER mode of an own region. */
export function registerMode(m: MemoryConfig, trackWrites: boolean): number {
  const c = native.constants;
  return c.UFFDIO_REGISTER_MODE_MISSING | (m.minor ? c.UFFDIO_REGISTER_MODE_MINOR : 0) | (trackWrites ? c.UFFDIO_REGISTER_MODE_WP : 0);
}
