/**
 * Opens this process's own uffd with the features the handler needs: those
 * the user asked for, plus POISON (it backs the default failure policy:
 * SIGBUS on the faulting thread), THREAD_ID (free, and lets 'fault' samples
 * name the thread), MISSING_HUGETLBFS (huge page regions), WP_ASYNC with
 * WP_UNPOPULATED (write tracking), MISSING_SHMEM and MINOR_SHMEM (backing
 * 'memfd'/'shmem', minor faults) and MOVE (install: 'move') where the kernel
 * offers them.
 *
 * UFFDIO_API can be called once per fd, so what the kernel offers is learnt
 * on a throwaway fd first (native.uffdProbe) and a missing feature is named
 * before the real fd exists.
 */
import { release } from 'node:os';
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import { FEATURE_BITS, featureMask, featureNames, type FeatureName } from '../features.js';

export interface OwnUffd {
  fd: number;
  /** Feature bits granted on it. */
  granted: number;
  /** Feature bits the kernel offers a new uffd (a sync write-tracking uffd asks from these). */
  offered: number;
}

export function openOwnUffd(wanted: readonly FeatureName[], userModeOnly: boolean): OwnUffd {
  const offered = native.uffdProbe({ userModeOnly }).features;
  const missing = featureNames(featureMask(wanted) & ~offered);
  if (missing.length > 0) {
    throw new FaultlineError(
      'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
      `this kernel (${release()}) does not offer uffd features: ${missing.join(', ')}` +
        (missing.includes('fork') ? ' (event fork also needs CAP_SYS_PTRACE)' : ''),
    );
  }
  // Also MISSING_HUGETLBFS: regions may be hugetlbfs memory (MapOptions.pageSize); and
  // WP_ASYNC + WP_UNPOPULATED for write tracking (MapOptions.trackWrites); MOVE for eviction
  // (MapOptions.maxResident) and install: 'move'; MISSING_SHMEM and MINOR_SHMEM for
  // MapOptions.backing and minor. These only change ranges registered (or ioctls made)
  // for them, so asking costs the other regions nothing.
  const automatic =
    FEATURE_BITS.poison |
    FEATURE_BITS['thread-id'] |
    FEATURE_BITS['missing-hugetlbfs'] |
    FEATURE_BITS['wp-async'] |
    FEATURE_BITS['wp-unpopulated'] |
    FEATURE_BITS['missing-shmem'] |
    FEATURE_BITS['minor-shmem'] |
    FEATURE_BITS.move;
  const requested = featureMask(wanted) | (offered & automatic);
  const fd = native.uffdCreate({ userModeOnly });
  try {
    return { fd, granted: native.uffdApi(fd, requested).features, offered };
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
}

/**
 * The handler's second uffd, for regions tracked with synchronous write-
 * protect faults (map `trackWrites: 'sync'`). WP_ASYNC is a property of a
 * whole uffd: on the handler's own uffd (which asks for it whenever the
 * kernel offers it) a write to a protected page is resolved by the kernel
 * without a message, so a range that needs the message must be registered
 * on a uffd opened without it. Everything else the own uffd was granted is
 * asked for again (the same installs, failure policy and events work), and
 * WP itself (PAGEFAULT_FLAG_WP: the sync mode's faults are WP faults) with
 * WP_HUGETLBFS_SHMEM (write protection of backing 'shmem'/'memfd' ranges).
 */
export function openSyncWpUffd(ownGranted: number, userModeOnly: boolean): OwnUffd {
  const offered = native.uffdProbe({ userModeOnly }).features;
  const requested = (ownGranted & ~FEATURE_BITS['wp-async']) | (offered & (FEATURE_BITS.wp | FEATURE_BITS['wp-hugetlbfs-shmem']));
  const fd = native.uffdCreate({ userModeOnly });
  try {
    return { fd, granted: native.uffdApi(fd, requested).features, offered };
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
}
