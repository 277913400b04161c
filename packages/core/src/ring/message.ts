// The ring's record format (docs/ring.md §2): 16-byte records of 4 uint32
// words, a head record per event plus CONT records for events that carry more
// than one 64-bit value. Addresses travel as plain Numbers (< 2^53): nothing
// here allocates a BigInt.

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

/** Words per record. */
export const RECORD_WORDS = 4;
/** Largest message: a head plus 15 continuations (4-bit cont field). */
export const MAX_MESSAGE_RECORDS = 16;
/** uffd ids are 12 bits. */
export const MAX_UFFD_ID = 4095;

const TWO_32 = 0x1_0000_0000;

export interface RecordHead {
  kind: number;
  flags: number;
  /** On a head: how many CONT records follow. On a CONT: its index (1..n). */
  cont: number;
  uffdId: number;
  /** Faulting thread id (THREAD_ID feature), else 0. */
  tid: number;
}

export interface FaultEvent {
  kind: 'fault';
  uffdId: number;
  address: number;
  write: boolean;
  wp: boolean;
  minor: boolean;
  tid: number;
}
export interface ForkEvent {
  kind: 'fork';
  uffdId: number;
  /** The uffd id the reader gave the child's uffd (its fd is in the uffd table). */
  childUffdId: number;
}
export interface RemapEvent {
  kind: 'remap';
  uffdId: number;
  from: number;
  to: number;
  len: number;
}
export interface RemoveEvent {
  kind: 'remove';
  uffdId: number;
  start: number;
  end: number;
}
export interface UnmapEvent {
  kind: 'unmap';
  uffdId: number;
  start: number;
  end: number;
}
export type RingEvent = FaultEvent | ForkEvent | RemapEvent | RemoveEvent | UnmapEvent;

type Words = ArrayLike<number>;

/** Decodes the type word (w0, w1) of the record at record index `i` of `words`. */
export function decodeHead(words: Words, i: number): RecordHead {
  const w0 = words[i * RECORD_WORDS]! >>> 0;
  return {
    kind: w0 & 0xff,
    flags: (w0 >>> 8) & 0xff,
    cont: (w0 >>> 16) & 0xf,
    uffdId: w0 >>> 20,
    tid: words[i * RECORD_WORDS + 1]! >>> 0,
  };
}

/** Kind of the record at index `i` (the fast path: no object). */
export function kindOf(words: Words, i: number): number {
  return words[i * RECORD_WORDS]! & 0xff;
}

/** Records in the message whose head is at index `i` (1 + its cont count). */
export function messageRecords(words: Words, i: number): number {
  return 1 + ((words[i * RECORD_WORDS]! >>> 16) & 0xf);
}

/** uffd id of the record at index `i`. */
export function uffdIdOf(words: Words, i: number): number {
  return words[i * RECORD_WORDS]! >>> 20;
}

/** FAULT flags of the record at index `i`. */
export function flagsOf(words: Words, i: number): number {
  return (words[i * RECORD_WORDS]! >>> 8) & 0xff;
}

/** The 64-bit arg of the record at index `i` as a Number (addresses are < 2^53). */
export function addressOf(words: Words, i: number): number {
  return (words[i * RECORD_WORDS + 3]! >>> 0) * TWO_32 + (words[i * RECORD_WORDS + 2]! >>> 0);
}

function checkUffdId(uffdId: number): void {
  if (!Number.isInteger(uffdId) || uffdId < 0 || uffdId > MAX_UFFD_ID) {
    throw new RangeError(`uffd id must be an integer in 0..${MAX_UFFD_ID}, got ${uffdId}`);
  }
}

function checkArg(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer below 2^53, got ${value}`);
  }
}

function putRecord(out: Uint32Array, i: number, w0: number, w1: number, arg: number): void {
  const o = i * RECORD_WORDS;
  out[o] = w0;
  out[o + 1] = w1;
  out[o + 2] = arg % TWO_32;
  out[o + 3] = Math.floor(arg / TWO_32);
}

function headWord(kind: number, flags: number, cont: number, uffdId: number): number {
  return (kind | (flags << 8) | (cont << 16) | (uffdId << 20)) >>> 0;
}

/** Builds a message: head (kind, flags, tid, args[0]) then one CONT per further arg. */
function encode(kind: number, uffdId: number, flags: number, tid: number, args: number[]): Uint32Array {
  checkUffdId(uffdId);
  const out = new Uint32Array(args.length * RECORD_WORDS);
  putRecord(out, 0, headWord(kind, flags, args.length - 1, uffdId), tid >>> 0, args[0]!);
  for (let i = 1; i < args.length; i++) {
    putRecord(out, i, headWord(KIND_CONT, 0, i, uffdId), 0, args[i]!);
  }
  return out;
}

/** FAULT at `address`; `flags` is a mask of FLAG_WRITE/WP/MINOR; `tid` the faulting thread (or 0). */
export function encodeFault(uffdId: number, address: number, flags = 0, tid = 0): Uint32Array {
  checkArg('address', address);
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new RangeError(`flags must fit in 8 bits, got ${flags}`);
  return encode(KIND_FAULT, uffdId, flags, tid, [address]);
}

/** FORK seen on uffd `uffdId`; the child's uffd was given id `childUffdId`. */
export function encodeFork(uffdId: number, childUffdId: number): Uint32Array {
  checkUffdId(childUffdId);
  return encode(KIND_FORK, uffdId, 0, 0, [childUffdId]);
}

/** REMAP [from, from+len) → to: head + 2 CONT records. */
export function encodeRemap(uffdId: number, from: number, to: number, len: number): Uint32Array {
  checkArg('from', from);
  checkArg('to', to);
  checkArg('len', len);
  return encode(KIND_REMAP, uffdId, 0, 0, [from, to, len]);
}

/** REMOVE [start, end) (madvise DONTNEED/REMOVE): head + 1 CONT record. */
export function encodeRemove(uffdId: number, start: number, end: number): Uint32Array {
  checkArg('start', start);
  checkArg('end', end);
  return encode(KIND_REMOVE, uffdId, 0, 0, [start, end]);
}

/** UNMAP [start, end): head + 1 CONT record. */
export function encodeUnmap(uffdId: number, start: number, end: number): Uint32Array {
  checkArg('start', start);
  checkArg('end', end);
  return encode(KIND_UNMAP, uffdId, 0, 0, [start, end]);
}

/**
 * Decodes the whole message whose head is at record index `i` into an event
 * object. Use messageRecords(words, i) to step to the next message. Throws on a
 * CONT where a head is expected or an unknown kind (a corrupt ring).
 */
export function decodeMessage(words: Words, i: number): RingEvent {
  const w0 = words[i * RECORD_WORDS]! >>> 0;
  const kind = w0 & 0xff;
  const uffdId = w0 >>> 20;
  const cont = (w0 >>> 16) & 0xf;
  const need = (n: number): void => {
    if (cont < n) throw new RangeError(`ring message kind 0x${kind.toString(16)} needs ${n} continuation record(s), has ${cont}`);
  };
  switch (kind) {
    case KIND_FAULT: {
      const flags = (w0 >>> 8) & 0xff;
      return {
        kind: 'fault',
        uffdId,
        address: addressOf(words, i),
        write: (flags & FLAG_WRITE) !== 0,
        wp: (flags & FLAG_WP) !== 0,
        minor: (flags & FLAG_MINOR) !== 0,
        tid: words[i * RECORD_WORDS + 1]! >>> 0,
      };
    }
    case KIND_FORK:
      return { kind: 'fork', uffdId, childUffdId: addressOf(words, i) };
    case KIND_REMAP:
      need(2);
      return { kind: 'remap', uffdId, from: addressOf(words, i), to: addressOf(words, i + 1), len: addressOf(words, i + 2) };
    case KIND_REMOVE:
      need(1);
      return { kind: 'remove', uffdId, start: addressOf(words, i), end: addressOf(words, i + 1) };
    case KIND_UNMAP:
      need(1);
      return { kind: 'unmap', uffdId, start: addressOf(words, i), end: addressOf(words, i + 1) };
    default:
      throw new RangeError(`ring record at index ${i} is not a message head (kind 0x${kind.toString(16)})`);
  }
}
