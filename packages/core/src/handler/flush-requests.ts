/**
 * The region.flush() calls waiting on one evictor. Each flush asks for a
 * number (the evictor's request counter after it), and the evictor reports
 * the newest number it had seen when it began the pass that just ended: that
 * pass served every request up to it. Several flushes asked for while a pass
 * runs are served together by the next one, which reports only the newest
 * number, so every request up to the reported one is settled, not just it.
 * A writeback that fails during a flush's pass rejects the flushes that pass
 * serves: their pages are not all in the store.
 */
export class FlushRequests {
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  /** Settles when a pass reports `seq` or a later number (or the evictor stops). */
  wait(seq: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }

  /** A pass that began having seen requests up to `seq` has ended. */
  served(seq: number): void {
    this.settle(seq, (w) => w.resolve());
  }

  /** The pass serving requests up to `seq` could not write everything back. */
  failed(seq: number, err: Error): void {
    this.settle(seq, (w) => w.reject(err));
  }

  /** The evictor stopped: nothing more will be written, nobody waits on it. */
  releaseAll(): void {
    this.settle(Number.MAX_SAFE_INTEGER, (w) => w.resolve());
  }

  private settle(seq: number, how: (w: { resolve: () => void; reject: (err: Error) => void }) => void): void {
    for (const [asked, w] of this.waiting) {
      if (asked <= seq) {
        this.waiting.delete(asked);
        how(w);
      }
    }
  }
}
