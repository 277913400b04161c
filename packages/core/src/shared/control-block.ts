/**
 * The control block: a few Int32 words in a SharedArrayBuffer that the main
 * thread and the serve loops both see, so neither has to send a message for
 * them (a serve loop parked in a syscall cannot receive one anyway).
 *
 *   seq            bumped by main after posting control messages; a loop that
 *                  sees it move drains its MessagePort
 *   sampleEvery    'fault' events: one fault in N is posted to main (0: off)
 *   directMessages uffd messages loops read themselves (direct poll)
 *   busy[w]        1 while worker w holds records or resolutions in flight;
 *                  close() waits for every flag to drop
 */
const SEQ = 0;
const SAMPLE_EVERY = 1;
const DIRECT_MESSAGES = 2;
const BUSY_BASE = 8;
/** The most workers a handler may have. */
export const MAX_WORKERS = 64;
const WORDS = BUSY_BASE + MAX_WORKERS;

export class ControlBlock {
  readonly words: Int32Array;

  static create(sampleEvery: number): ControlBlock {
    const block = new ControlBlock(new SharedArrayBuffer(WORDS * 4));
    Atomics.store(block.words, SAMPLE_EVERY, sampleEvery);
    return block;
  }

  constructor(sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }

  get sab(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  seq(): number {
    return Atomics.load(this.words, SEQ);
  }

  bumpSeq(): void {
    Atomics.add(this.words, SEQ, 1);
  }

  sampleEvery(): number {
    return Atomics.load(this.words, SAMPLE_EVERY);
  }

  directMessages(): number {
    return Atomics.load(this.words, DIRECT_MESSAGES) >>> 0;
  }

  addDirectMessages(n: number): void {
    Atomics.add(this.words, DIRECT_MESSAGES, n);
  }

  /** Word index of worker `w`'s busy flag (the native direct poll raises it before it reads a uffd). */
  busyIndex(w: number): number {
    return BUSY_BASE + w;
  }

  setBusy(w: number, busy: boolean): void {
    Atomics.store(this.words, BUSY_BASE + w, busy ? 1 : 0);
  }

  /** True while any of the first `workers` workers is busy. */
  anyBusy(workers: number): boolean {
    for (let w = 0; w < workers; w++) if (Atomics.load(this.words, BUSY_BASE + w) !== 0) return true;
    return false;
  }
}
