/**
 * The region.flush() calls waiting on one evictor. Each flush asks for a
 * number (the evictor's request counter after it), and the evictor reports
 * the newest number it had seen when it began the pass that just ended: that
 * pass served every request up to it. Several flushes asked for while a pass
 * runs are served together by the next one, which reports only the newest
 * number, so every request up to the reported one is settled, not just it.
 */
export class FlushRequests {
  private readonly waiting = new Map<number, () => void>();

  /** Settles when a pass reports `seq` or a later number (or the evictor stops). */
  wait(seq: number): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.set(seq, resolve));
  }

  /** A pass that began having seen requests up to `seq` has ended. */
  served(seq: number): void {
    for (const [asked, resolve] of this.waiting) {
      if (asked <= seq) {
        this.waiting.delete(asked);
        resolve();
      }
    }
  }

  /** The evictor stopped: nothing more will be written, nobody waits on it. */
  releaseAll(): void {
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
  }
}
