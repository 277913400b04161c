/**
 * The worker's scratch pages: where resolvers write a page (or a readahead
 * run) before one UFFDIO_COPY installs it. Page-aligned memory from mmap, so
 * the kernel copies straight from it into the faulting range.
 *
 * A buffer is taken per fault and given back once the install is done; with
 * async resolvers several are out at once. Buffers are reused, and so is the
 * subarray handed out while the requested length repeats: a fault allocates
 * nothing.
 */
import native from '@faultline/native';
import { THP_RUN, adviseHugePages } from '../thp.js';

export interface Scratch {
  /** The whole buffer. */
  readonly view: Uint8Array;
  /** The last view handed out (view.subarray(0, n)). */
  sized: Uint8Array;
}

export class ScratchPool {
  private readonly free: Scratch[] = [];
  /** Size of every buffer made from now on: the largest request a region can make. */
  private bytes: number;

  constructor(pageSize: number) {
    this.bytes = pageSize;
    this.free.push(this.make());
  }

  /** Makes room for requests of `bytes` (a region with readahead was mapped). */
  ensure(bytes: number): void {
    if (bytes <= this.bytes) return;
    this.bytes = bytes;
    this.free.length = 0; // older, smaller buffers are dropped as they come back
  }

  /** A buffer of at least `bytes` (ScratchPool.view gives the sized view). */
  take(bytes: number): Scratch {
    this.ensure(bytes); // never spin making buffers that are too small
    for (;;) {
      const s = this.free.pop() ?? this.make();
      if (s.view.length >= bytes) return s;
    }
  }

  /** `s.view.subarray(0, bytes)`, reusing the last one made when the length repeats. */
  static view(s: Scratch, bytes: number): Uint8Array {
    if (s.sized.length !== bytes) s.sized = s.view.subarray(0, bytes);
    return s.sized;
  }

  release(s: Scratch): void {
    if (s.view.length >= this.bytes) this.free.push(s);
  }

  private make(): Scratch {
    const mapping = native.mapAnonymous(this.bytes);
    // Whole 2 MiB runs (readahead 512): transparent huge pages where the system allows
    // them on request, so install: 'move' moves a run as one huge page (memory.ts).
    if (this.bytes % THP_RUN === 0) adviseHugePages(mapping.address, this.bytes);
    const view = new Uint8Array(mapping.buffer);
    return { view, sized: view };
  }
}
