// Where the numbers come from: printed with every table and stored in the JSON.
import { cpus, release, type as osType } from 'node:os';
import type { Environment } from './results.js';

export type EnvironmentSettings = Pick<Environment, 'quick' | 'rounds' | 'repeat' | 'regionBytes' | 'placement' | 'handler' | 'wakeProbe'>;

export function describeEnvironment(settings: EnvironmentSettings, now = new Date()): Environment {
  const cpuList = cpus();
  return {
    date: now.toISOString(),
    kernel: `${osType()} ${release()}`,
    node: process.version,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    ...settings,
    rssNote:
      'rssDeltaKb: RSS growth of the handling process over one round, touched region pages included ' +
      '(Faultline: the Node process running the handler; C references: the C process; adopt rows: none, ' +
      'the pages live in the child); median over rounds',
  };
}
