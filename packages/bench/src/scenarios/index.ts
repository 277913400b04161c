// The bench's scenario list, in table order. Every fault scenario runs the
// plain C handler (one thread, blocking read, one ioctl per fault: the
// baseline) and the busy-polling one (the limit) on the same size, order,
// toucher threads and content; readahead rows also run a C handler that
// installs as many pages per fault. So each row says what Faultline gains
// over the plainest handler and how far it is from the fastest single-page one.
import { adoptScenario } from './adopt.js';
import { faultScenario, type FaultSpec } from './faults.js';
import { ringScenario } from './ring.js';
import type { Scenario } from './types.js';
import type { Target } from '../results.js';

const DEFAULT_WORKERS = 2; // this machine has 2 cores

/**
 * Where the run's threads may go. Pinned to one CPU every handler pays the
 * same context switches and nothing overlaps, so the bar is 0.9x there (and
 * the limit, a spinner time-slicing with the faulting thread, is no bar at all).
 */
export type Placement = 'scheduled' | 'pinned';

/** The bar for a single-page path: as scheduled, faster than the blocking handler and near the limit at no more CPU. */
function singlePageTargets(placement: Placement): Target[] {
  if (placement === 'pinned') return [{ text: '>= 0.9x baseline (pinned)', minRatio: 0.9 }];
  return [
    { text: '>= 1.0x baseline', minRatio: 1 },
    { text: '>= 0.9x limit at <= its cpu/pg', reference: 'limit', minRatio: 0.9, cpuNotAbove: true },
  ];
}

function baselineTarget(placement: Placement): Target[] {
  return placement === 'pinned' ? [{ text: '>= 0.9x baseline (pinned)', minRatio: 0.9 }] : [{ text: '>= 1.0x baseline', minRatio: 1 }];
}

function single(order: 'sequential' | 'random', threads: number, content: FaultSpec['content'], placement: Placement): Scenario {
  const o = order === 'sequential' ? 'seq' : 'rand';
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
    quick: content === 'pattern' || (order === 'sequential' && threads === 1),
    targets: singlePageTargets(placement),
  });
}

function adopt(order: 'sequential' | 'random', threads: number, quick: boolean, placement: Placement): Scenario {
  const o = order === 'sequential' ? 'seq' : 'rand';
  return adoptScenario({
    name: `adopt-${o}-${threads}t-pattern`,
    description: `another process's uffd (Firecracker-style, handed over a Unix socket), ${order}, ${threads} toucher thread(s) there; ` +
      `Faultline: listenForUffds + adopt, pattern resolver; references: a C handler process`,
    order,
    threads,
    handshake: 'faultline',
    quick,
    targets: baselineTarget(placement),
  });
}

/** Every scenario, with the targets of `placement` (default: as scheduled). */
export function allScenarios(placement: Placement = 'scheduled'): Scenario[] {
  const list: Scenario[] = [];
  for (const order of ['sequential', 'random'] as const) {
    for (const threads of [1, 2]) {
      for (const content of ['zero', 'pattern', 'file'] as const) list.push(single(order, threads, content, placement));
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
        targets: [],
      }),
    );
  }
  for (const readahead of [1, 16, 64]) {
    list.push(
      faultScenario({
        name: `seq-1t-pattern-ra${readahead}`,
        group: 'readahead',
        description:
          `sequential, 1 toucher thread, pattern resolver, ${readahead} page(s) per fault; ` +
          `references: single-page C handlers${readahead > 1 ? ` and the blocking one installing ${readahead} pages per fault` : ''}`,
        order: 'sequential',
        threads: 1,
        content: 'pattern',
        workers: DEFAULT_WORKERS,
        readahead,
        toucher: 'native',
        quick: true,
        targets: readahead > 1 ? [{ text: `>= 0.8x ra${readahead} ref`, reference: 'readaheadBaseline', minRatio: 0.8 }] : [],
      }),
    );
  }
  // install: 'copy' vs 'move' (UFFDIO_MOVE of the scratch; at readahead 512 whole 2 MiB
  // transparent huge pages move). Compare each pair's ratios to the same C reference.
  for (const readahead of [64, 512]) {
    for (const install of ['copy', 'move'] as const) {
      list.push(
        faultScenario({
          name: `seq-1t-pattern-ra${readahead}-${install}`,
          group: 'install',
          description:
            `sequential, 1 toucher thread, pattern resolver, ${readahead} pages per fault, installed by UFFDIO_${install.toUpperCase()}; ` +
            `references: single-page C handlers and the blocking one installing ${readahead} pages per fault (UFFDIO_COPY)`,
          order: 'sequential',
          threads: 1,
          content: 'pattern',
          workers: DEFAULT_WORKERS,
          readahead,
          toucher: 'native',
          install,
          quick: false,
          targets: [],
        }),
      );
    }
  }
  for (const order of ['sequential', 'random'] as const) {
    list.push(
      faultScenario({
        name: `js-${order === 'sequential' ? 'seq' : 'rand'}-pattern`,
        group: 'JS main thread',
        description: `the JS main thread reading region.buffer, ${order}, pattern resolver; references: 1 native toucher thread`,
        order,
        threads: 1,
        content: 'pattern',
        workers: DEFAULT_WORKERS,
        readahead: 1,
        toucher: 'js',
        quick: true,
        targets: [],
      }),
    );
  }
  list.push(
    adopt('sequential', 1, true, placement),
    adopt('random', 2, true, placement),
    adopt('sequential', 2, false, placement),
    adopt('random', 1, false, placement),
  );
  list.push(
    adoptScenario({
      name: 'adopt-fc-seq-1t-file',
      description:
        'a Firecracker-style client (its handshake, uffd with EVENT_REMOVE), sequential, 1 thread; ' +
        'Faultline: serveFirecracker with the memory file; references: a C handler process reading the same file',
      order: 'sequential',
      threads: 1,
      handshake: 'firecracker',
      quick: true,
      targets: baselineTarget(placement),
    }),
  );
  list.push(ringScenario(1, placement), ringScenario(2, placement));
  return list;
}

/** The scenarios to run: the --quick subset and/or those whose name or group contains `filter`. */
export function selectScenarios<S extends Pick<Scenario, 'name' | 'group' | 'quick'>>(all: readonly S[], quick: boolean, filter: string | null): S[] {
  return all.filter(
    (s) => (!quick || s.quick) && (filter === null || s.name.includes(filter) || s.group.includes(filter)),
  );
}
