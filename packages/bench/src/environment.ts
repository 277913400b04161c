// Where the numbers come from: printed with every table and stored in the JSON.
import { cpus, release, type as osType } from 'node:os';
import type { Environment } from './results.js';

export function describeEnvironment(
  quick: boolean,
  rounds: number,
  regionBytes: number,
  handler: Environment['handler'] = {},
  wakeProbe: Environment['wakeProbe'] = null,
  now = new Date(),
): Environment {
  const cpuList = cpus();
  return {
    date: now.toISOString(),
    kernel: `${osType()} ${release()}`,
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    quick,
    rounds,
    regionBytes,
    handler,
    wakeProbe,
    rssNote:
      'rssDeltaKb: RSS growth of the handling process over one round, touched region pages included ' +
      '(Faultline: the Node process running the handler; baseline: the C process); median over rounds',
  };
}
