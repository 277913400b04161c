/**
 * The periodic 'stats' event. eventemitter3 announces no new listeners, so
 * the ticker cannot start when someone subscribes; instead one unref'd timer
 * (it never keeps the process alive) looks every period and emits only while
 * someone listens. Reading the stats is a few Atomics loads.
 */
export interface StatsTickerTarget<S> {
  listenerCount(event: 'stats'): number;
  emit(event: 'stats', stats: S): boolean;
}

/** Starts the ticker; returns its stop function. */
export function startStatsTicker<S>(target: StatsTickerTarget<S>, intervalMs: number, read: () => S): () => void {
  const timer = setInterval(() => {
    if (target.listenerCount('stats') > 0) target.emit('stats', read());
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
