// The ring's byte layout and record format (docs/ring.md §1-§2): every
// constant the TypeScript side knows about the ring, in one place. This file
// mirrors packages/native/src/ring.h; docs/ring-vectors.json keeps the two honest.

// ---- header words (Int32 indices, §1)
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_CAPACITY = 2;
export const W_CLOSED = 3;
export const W_ENQUEUE = 16;
export const W_DEQUEUE = 32;
/** The futex word parked consumers sleep on (§5). */
export const W_WAKE_SEQ = 48;
export const W_PARKED = 49;
/** Consumers parked in the handler's direct poll set (woken by its kick eventfd, not the futex; §9). */
export const W_POLLERS = 50;
export const W_STALLS = 56;
export const W_WAKEUPS = 57;
/** Event messages consumers have applied; the reader publishes nothing after an event until this catches up (§8). */
export const W_EVENTS_APPLIED = 58;

export const RING_MAGIC = 0x47524c46;
export const RING_VERSION = 1;
export const HEADER_BYTES = 256;
export const MIN_CAPACITY = 2;
export const MAX_CAPACITY = 1 << 24;
/** Word index of seq[0]. */
export const SEQ_BASE = HEADER_BYTES / 4;

/** Byte offset of the record array: after the header and seq[], 16-aligned. */
export function recordsOffset(capacity: number): number {
  return (HEADER_BYTES + 4 * capacity + 15) & ~15;
}

// ---- records (§2)
/** Words per record. */
export const RECORD_WORDS = 4;
/** Largest message: a head plus 15 continuations (4-bit cont field). */
export const MAX_MESSAGE_RECORDS = 16;
/** uffd ids are 12 bits. */
export const MAX_UFFD_ID = 4095;

/** Event kinds: the kernel's UFFD_EVENT_* codes, plus CONT for continuations. */
export const KIND_FAULT = 0x12;
export const KIND_FORK = 0x13;
export const KIND_REMAP = 0x14;
export const KIND_REMOVE = 0x15;
export const KIND_UNMAP = 0x16;
export const KIND_CONT = 0x7f;

/** FAULT flags: the kernel's UFFD_PAGEFAULT_FLAG_*. */
export const FLAG_WRITE = 1;
export const FLAG_WP = 2;
export const FLAG_MINOR = 4;

/**
 * FORK flag: the reader had no uffd id left for the child. The record's arg is
 * then the child's fd (not an id), and the consumer decides what to do with it.
 */
export const FORK_FLAG_UNSERVED = 1;
