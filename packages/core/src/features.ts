/**
 * uffd feature names <-> UFFDIO_API bits. Users name features ('fork',
 * 'remove', ...); the handler negotiates the bits and, when the kernel lacks
 * one, says which by name.
 */
import native from '@faultline/native';

const c = native.constants;

export const FEATURE_BITS = {
  wp: c.UFFD_FEATURE_PAGEFAULT_FLAG_WP,
  fork: c.UFFD_FEATURE_EVENT_FORK,
  remap: c.UFFD_FEATURE_EVENT_REMAP,
  remove: c.UFFD_FEATURE_EVENT_REMOVE,
  'missing-hugetlbfs': c.UFFD_FEATURE_MISSING_HUGETLBFS,
  'missing-shmem': c.UFFD_FEATURE_MISSING_SHMEM,
  unmap: c.UFFD_FEATURE_EVENT_UNMAP,
  sigbus: c.UFFD_FEATURE_SIGBUS,
  'thread-id': c.UFFD_FEATURE_THREAD_ID,
  'minor-hugetlbfs': c.UFFD_FEATURE_MINOR_HUGETLBFS,
  'minor-shmem': c.UFFD_FEATURE_MINOR_SHMEM,
  'exact-address': c.UFFD_FEATURE_EXACT_ADDRESS,
  'wp-hugetlbfs-shmem': c.UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
  'wp-unpopulated': c.UFFD_FEATURE_WP_UNPOPULATED,
  poison: c.UFFD_FEATURE_POISON,
  'wp-async': c.UFFD_FEATURE_WP_ASYNC,
  move: c.UFFD_FEATURE_MOVE,
} as const;

export type FeatureName = keyof typeof FEATURE_BITS;

export function isFeatureName(name: string): name is FeatureName {
  return Object.prototype.hasOwnProperty.call(FEATURE_BITS, name);
}

/** OR of the named features' bits (feature bits stay below 2^31). */
export function featureMask(names: Iterable<FeatureName>): number {
  let mask = 0;
  for (const name of names) mask |= FEATURE_BITS[name];
  return mask;
}

/** Names of the features present in `mask`. */
export function featureNames(mask: number): FeatureName[] {
  return (Object.keys(FEATURE_BITS) as FeatureName[]).filter((n) => (mask & FEATURE_BITS[n]) !== 0);
}
