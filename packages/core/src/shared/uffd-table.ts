/**
 * The uffd table: which fd each uffd id stands for. An Int32Array over a
 * SharedArrayBuffer (fd per id, -1 when free) that the main thread, every
 * worker and the native reader thread see. Ring records carry uffd ids (12
 * bits), never fds: a worker finds the fd to install into here.
 *
 * Slots are claimed by compare-and-swap from -1, because two parties
 * allocate: the handler (its own uffd, adopted ones) and the reader thread
 * (a forked child's uffd, docs/ring.md §2). Whoever closes an fd frees its slot.
 */
import { FaultlineError } from '../errors.js';
import { MAX_UFFD_ID } from '../ring/layout.js';

/** Every id a ring record can name. */
export const UFFD_TABLE_SIZE = MAX_UFFD_ID + 1;

export class UffdTable {
  readonly fds: Int32Array;

  /** A new, empty table. */
  static create(): UffdTable {
    return new UffdTable(new SharedArrayBuffer(UFFD_TABLE_SIZE * 4), true);
  }

  /** Views a table made by create() (in a worker). */
  constructor(sab: SharedArrayBuffer, fresh = false) {
    this.fds = new Int32Array(sab);
    if (fresh) this.fds.fill(-1);
  }

  get sab(): SharedArrayBuffer {
    return this.fds.buffer as SharedArrayBuffer;
  }

  /** The fd of uffd id `id`, or -1. */
  fdOf(id: number): number {
    return this.fds[id]!;
  }

  /** The id that holds `fd`, or -1. */
  idOf(fd: number): number {
    return this.fds.indexOf(fd);
  }

  /** Claims the first free id for `fd`. */
  claim(fd: number): number {
    for (let id = 0; id < this.fds.length; id++) {
      if (Atomics.compareExchange(this.fds, id, -1, fd) === -1) return id;
    }
    throw new FaultlineError('ERR_FAULTLINE_TABLE_FULL', `too many uffds served at once (${this.fds.length})`);
  }

  /** Frees `id` and returns the fd it held (-1 if none): the caller closes it. */
  release(id: number): number {
    return Atomics.exchange(this.fds, id, -1);
  }

  /** Frees every slot; returns the fds that were held (the caller closes them). */
  releaseAll(): number[] {
    const held: number[] = [];
    for (let id = 0; id < this.fds.length; id++) {
      const fd = this.release(id);
      if (fd >= 0) held.push(fd);
    }
    return held;
  }
}
