/**
 * Transparent huge pages for install: 'move'. UFFDIO_MOVE moves a whole PMD
 * (2 MiB) in one step when the source run is one transparent huge page and
 * the destination's PMD is still empty; the destination's is empty only if
 * the region is THP-eligible (its faults then leave no page table behind).
 * With THP in 'madvise' mode (the usual default) both the worker's scratch
 * and the region must ask for them: MADV_HUGEPAGE. Best effort: where THP
 * is off, the advice fails and MOVE splits into 4 KiB pages.
 */
import native from '@faultline/native';

/** Bytes of a PMD-sized transparent huge page on x86-64 and arm64 (4 KiB base pages). */
export const THP_RUN = 2 << 20;

export function adviseHugePages(address: number, length: number): void {
  try {
    native.madvise(address, length, native.constants.MADV_HUGEPAGE);
  } catch {
    // no THP in this kernel (EINVAL): moves go page by page
  }
}
