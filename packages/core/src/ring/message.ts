// The ring's record codec (docs/ring.md §2): 16-byte records of 4 uint32
// words, a head record per event plus CONT records for events that carry more
// than one 64-bit value. This is the only decoder: the serve loop reads records
// through the accessors below, and docs/ring-vectors.json checks them. Addresses
// travel as plain Numbers (< 2^53): nothing here allocates a BigInt.
import { FaultlineError } from '../errors.js';
import type { RingMessage } from '../events.js';
import {
  FLAG_MINOR,
  FLAG_WP,
  FLAG_WRITE,
  KIND_CONT,
  KIND_FAULT,
  KIND_FORK,
  KIND_REMAP,
  KIND_REMOVE,
  KIND_UNMAP,
  MAX_UFFD_ID,
  RECORD_WORDS,
} from './layout.js';

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

type Words = ArrayLike<number>;

// ---- the type word w0: kind | flags << 8 | cont << 16 | uffd id << 20

/** Kind of a record from its type word. */
export function wordKind(w0: number): number {
  return w0 & 0xff;
}

/** Flags of a record from its type word (FAULT: FLAG_*; FORK: FORK_FLAG_*). */
export function wordFlags(w0: number): number {
  return (w0 >>> 8) & 0xff;
}

/** Cont field of a type word: on a head, the CONT records that follow; on a CONT, its index. */
export function wordCont(w0: number): number {
  return (w0 >>> 16) & 0xf;
}

/** uffd id of a record from its type word. */
export function wordUffdId(w0: number): number {
  return w0 >>> 20;
}

/** Decodes the type word (w0, w1) of the record at record index `i` of `words`. */
export function decodeHead(words: Words, i: number): RecordHead {
  const w0 = words[i * RECORD_WORDS]! >>> 0;
  return {
    kind: wordKind(w0),
    flags: wordFlags(w0),
    cont: wordCont(w0),
    uffdId: wordUffdId(w0),
    tid: tidOf(words, i),
  };
}

// ---- accessors by record index (the fault path: no object is made)

/** Kind of the record at index `i`. */
export function kindOf(words: Words, i: number): number {
  return wordKind(words[i * RECORD_WORDS]!);
}

/** Records in the message whose head is at index `i` (1 + its cont count). */
export function messageRecords(words: Words, i: number): number {
  return 1 + wordCont(words[i * RECORD_WORDS]!);
}

/** uffd id of the record at index `i`. */
export function uffdIdOf(words: Words, i: number): number {
  return wordUffdId(words[i * RECORD_WORDS]! >>> 0);
}

/** Flags of the record at index `i`. */
export function flagsOf(words: Words, i: number): number {
  return wordFlags(words[i * RECORD_WORDS]!);
}

/** Thread id (w1) of the record at index `i`: the faulting thread with THREAD_ID, else 0. */
export function tidOf(words: Words, i: number): number {
  return words[i * RECORD_WORDS + 1]! >>> 0;
}

/** The 64-bit arg of the record at index `i` as a Number (addresses are < 2^53). */
export function addressOf(words: Words, i: number): number {
  return (words[i * RECORD_WORDS + 3]! >>> 0) * TWO_32 + (words[i * RECORD_WORDS + 2]! >>> 0);
}

function corrupt(message: string): never {
  throw new FaultlineError('ERR_FAULTLINE_RING_CORRUPT', message);
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

/** REMAP [from, from+length) → to: head + 2 CONT records. */
export function encodeRemap(uffdId: number, from: number, to: number, length: number): Uint32Array {
  checkArg('from', from);
  checkArg('to', to);
  checkArg('length', length);
  return encode(KIND_REMAP, uffdId, 0, 0, [from, to, length]);
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
 * object. Use messageRecords(words, i) to step to the next message. Throws
 * ERR_FAULTLINE_RING_CORRUPT on a CONT where a head is expected, an unknown
 * kind, or continuations missing (a corrupt ring), and on nothing else.
 */
export function decodeMessage(words: Words, i: number): RingMessage {
  const w0 = words[i * RECORD_WORDS]! >>> 0;
  const kind = wordKind(w0);
  const uffdId = wordUffdId(w0);
  const cont = wordCont(w0);
  // A message names its continuations; each must be there (inside `words`)
  // and be a CONT with its index, or the words are not a message: reading on
  // would make up zero arguments from past the end.
  const need = (n: number): void => {
    if (cont < n) corrupt(`ring message kind 0x${kind.toString(16)} needs ${n} continuation record(s), has ${cont}`);
    for (let k = 1; k <= n; k++) {
      if ((i + k + 1) * RECORD_WORDS > words.length) {
        corrupt(`ring message kind 0x${kind.toString(16)} at index ${i} needs record ${i + k}, past the end of the records given`);
      }
      const c = words[(i + k) * RECORD_WORDS]! >>> 0;
      if (wordKind(c) !== KIND_CONT || wordCont(c) !== k) {
        corrupt(`ring record ${i + k} should be continuation ${k} of the message at index ${i}`);
      }
    }
  };
  if ((i + 1) * RECORD_WORDS > words.length || i < 0 || !Number.isInteger(i)) {
    corrupt(`ring record index ${i} is outside the ${Math.floor(words.length / RECORD_WORDS)} record(s) given`);
  }
  // The encoders refuse args of 2^53 and above (a Number would round them):
  // a record carrying one was not written by them.
  const arg = (k: number): number => {
    if (words[(i + k) * RECORD_WORDS + 3]! >>> 0 >= 0x200000) {
      corrupt(`ring record ${i + k} carries an argument of 2^53 or more, which no encoder writes`);
    }
    return addressOf(words, i + k);
  };
  switch (kind) {
    case KIND_FAULT: {
      const flags = wordFlags(w0);
      return {
        kind: 'fault',
        uffdId,
        address: arg(0),
        write: (flags & FLAG_WRITE) !== 0,
        wp: (flags & FLAG_WP) !== 0,
        minor: (flags & FLAG_MINOR) !== 0,
        tid: tidOf(words, i),
      };
    }
    case KIND_FORK:
      return { kind: 'fork', uffdId, childUffdId: arg(0) };
    case KIND_REMAP:
      need(2);
      return { kind: 'remap', uffdId, from: arg(0), to: arg(1), length: arg(2) };
    case KIND_REMOVE:
      need(1);
      return { kind: 'remove', uffdId, start: arg(0), end: arg(1) };
    case KIND_UNMAP:
      need(1);
      return { kind: 'unmap', uffdId, start: arg(0), end: arg(1) };
    default:
      return corrupt(`ring record at index ${i} is not a message head (kind 0x${kind.toString(16)})`);
  }
}
