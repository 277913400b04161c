// The bench's scenario list, in table order. The baseline of every fault
// scenario is the plain C handler (one thread, one ioctl per fault) on the
// same size, order, toucher threads and content: so readahead and worker rows
// show what Faultline gains over the plainest handler.
import { faultScenario, type FaultSpec } from './faults.js';
import { ringScenario } from './ring.js';
import type { Scenario } from './types.js';

const DEFAULT_WORKERS = 2; // this machine has 2 cores

function single(order: 'sequential' | 'random', threads: number, content: FaultSpec['content']): Scenario {
  const o = order === 'sequential' ? 'seq' : 'rand';
  const quick = content === 'pattern' || (order === 'sequential' && threads === 1);
  const target =
    content === 'pattern' && order === 'sequential' && threads === 1
      ? { text: '>= 1.0x baseline', minRatio: 1 }
      : content === 'pattern' && order === 'random' && threads === 2
        ? { text: '>= 1.0x baseline', minRatio: 1 }
        : undefined;
  return faultScenario({
    name: `${o}-${threads}t-${content}`,
    group: 'single-page faults',
    description: `${order} single-page faults, ${threads} native toucher thread(s), ${content} resolver, ${DEFAULT_WORKERS} workers`,
    order,
    threads,
    content,
    workers: DEFAULT_WORKERS,
    readahead: 1,
    toucher: 'native',
    quick,
    ...(target ? { target } : {}),
  });
}

export function allScenarios(): Scenario[] {
  const list: Scenario[] = [];
  for (const order of ['sequential', 'random'] as const) {
    for (const threads of [1, 2]) {
      for (const content of ['zero', 'pattern', 'file'] as const) list.push(single(order, threads, content));
    }
  }
  for (const workers of [1, 2, 4]) {
    list.push(
      faultScenario({
        name: `rand-2t-pattern-w${workers}`,
        group: 'workers',
        description: `random faults, 2 toucher threads, pattern resolver, ${workers} worker(s)`,
        order: 'random',
        threads: 2,
        content: 'pattern',
        workers,
        readahead: 1,
        toucher: 'native',
        quick: true,
      }),
    );
  }
  for (const readahead of [1, 16, 64]) {
    list.push(
      faultScenario({
        name: `seq-1t-pattern-ra${readahead}`,
        group: 'readahead',
        description: `sequential, 1 toucher thread, pattern resolver, ${readahead} page(s) per fault; baseline: single-page C handler`,
        order: 'sequential',
        threads: 1,
        content: 'pattern',
        workers: DEFAULT_WORKERS,
        readahead,
        toucher: 'native',
        quick: true,
        ...(readahead === 64 ? { target: { text: '>= 10x baseline', minRatio: 10 } } : {}),
      }),
    );
  }
  for (const order of ['sequential', 'random'] as const) {
    list.push(
      faultScenario({
        name: `js-${order === 'sequential' ? 'seq' : 'rand'}-pattern`,
        group: 'JS main thread',
        description: `the JS main thread reading region.buffer, ${order}, pattern resolver; baseline: 1 native toucher thread`,
        order,
        threads: 1,
        content: 'pattern',
        workers: DEFAULT_WORKERS,
        readahead: 1,
        toucher: 'js',
        quick: true,
      }),
    );
  }
  list.push(ringScenario(1), ringScenario(2));
  return list;
}

/** The scenarios to run: the --quick subset and/or those whose name or group contains `filter`. */
export function selectScenarios(all: readonly Scenario[], quick: boolean, filter: string | null): Scenario[] {
  return all.filter(
    (s) => (!quick || s.quick) && (filter === null || s.name.includes(filter) || s.group.includes(filter)),
  );
}
