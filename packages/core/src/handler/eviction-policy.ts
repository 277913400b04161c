/**
 * The eviction policy's numbers, shared by both evictors (js-evictor.ts,
 * native-evictor.ts) and kept equal to the bench's C reference
 * (native src/testing/baseline/ooc_c.c: RUN_PAGES) so that comparison stays fair.
 */
/** Pages moved out per run: the most a fault on an evicted page can wait for is one run's writeback. */
export const RUN_PAGES = 64;
/** How often an evictor looks at the resident count when no fault wakes it, ms. */
export const INTERVAL_MS = 5;
/** How long eviction rests after a failed writeback, ms. */
export const WRITEBACK_RETRY_MS = 1000;
