// The lines above every table: the machine, the run's shape, where its
// threads ran and what waking a thread cost, since the C baseline's speed
// follows from the last two (docs/performance.md).
import { micros } from '../format.js';
import type { Environment, Placement } from '../results.js';
import type { WakeProbe } from '../wake-probe.js';

export function placementText(p: Placement): string {
  return p.pinnedCpu === null
    ? `as scheduled (CPUs ${p.cpusAllowed} allowed)`
    : `pinned to CPU ${p.pinnedCpu} (taskset -c ${p.pinnedCpu}: every thread of both sides and their child processes)`;
}

export function wakeText(probe: { before: WakeProbe; after: WakeProbe }): string {
  return (
    `waking a sleeping thread costs ${micros(probe.before.sleepRoundTripNs / 2)} us ` +
    `(${micros(probe.after.sleepRoundTripNs / 2)} us after the run); ` +
    `a round trip to a spinning peer ${micros(probe.before.spinRoundTripNs)} us`
  );
}

export function headerLines(e: Environment): string[] {
  return [
    `Faultline bench  ${e.date}  ${e.kernel}  node ${e.node}  ${e.cpus} x ${e.cpuModel}`,
    `${e.quick ? 'quick' : 'full'} run: ${e.rounds} rounds per scenario (C references and Faultline interleaved, medians), ` +
      `${e.regionBytes / (1 << 20)} MiB region per round; throughput in pages/s unless the group says msgs/s`,
    `placement: ${placementText(e.placement)}`,
    ...(e.wakeProbe ? [`machine: ${wakeText(e.wakeProbe)}`] : []),
    ...(e.handler && Object.keys(e.handler).length > 0 ? [`handler options: ${JSON.stringify(e.handler)} (library defaults otherwise)`] : []),
  ];
}
