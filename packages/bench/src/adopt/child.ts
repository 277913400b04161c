// The faulting process of the adopt scenarios (faultline_adopt_child): it
// hands its uffd over a Unix socket the way Firecracker does, waits for "go",
// touches every page and prints what it measured. Both Faultline and the C
// handler process serve this same child.
import { parseJsonLine, startProgram, type RunningProgram } from '../native-program.js';

export const ADOPT_CHILD_PROGRAM = 'faultline_adopt_child';

export interface AdoptChildOptions {
  socket: string;
  size: number;
  order: 'sequential' | 'random';
  threads: number;
  /** Random-order seed. */
  seed: number;
  /** 'faultline': one JSON object {address, size, pageSize, pid}; 'firecracker': Firecracker's mapping list. */
  handshake: 'faultline' | 'firecracker';
  /** Where "go" comes from: the handler's socket, or stdin (go()) for a Firecracker handler, which never writes. */
  go: 'socket' | 'stdin';
  /** Restore bench: touch only these pages (the file the child reads: uint32 page indexes, in order)... */
  workingSet?: string;
  /** ...then check each touched page against this memory file (the child exits 1 on a mismatch). */
  checkFile?: string;
  /** The region is 2 MiB hugetlb memory (page_size 2 MiB in the handshake). */
  hugetlb?: boolean;
}

export interface AdoptChildResult {
  elapsedNs: number;
  pages: number;
  p50Ns: number;
  p99Ns: number;
  /** XOR of the first 8 bytes of every page it read: the caller checks the content. */
  checksum: bigint;
  /** CPU of the child over the touch. */
  cpuNs: number;
  /** Pages checked against --check-file (0 without one). */
  checkedPages: number;
}

export interface AdoptChild {
  readonly program: RunningProgram;
  /** Its result line, printed once every page was touched. */
  readonly result: Promise<AdoptChildResult>;
  /** With go 'stdin': start touching. */
  go(): void;
  /** With go 'stdin': let it exit (it waits after its result so its handler can read counters first). */
  release(): void;
}

export function adoptChildArgs(o: AdoptChildOptions): string[] {
  const args = ['--socket', o.socket, '--size', String(o.size), '--order', o.order, '--threads', String(o.threads),
    '--seed', String(o.seed), '--handshake', o.handshake, '--go', o.go];
  if (o.workingSet !== undefined) args.push('--working-set', o.workingSet);
  if (o.checkFile !== undefined) args.push('--check-file', o.checkFile);
  if (o.hugetlb === true) args.push('--hugetlb');
  return args;
}

export function startAdoptChild(o: AdoptChildOptions): AdoptChild {
  const program = startProgram(ADOPT_CHILD_PROGRAM, adoptChildArgs(o));
  if (o.go === 'socket') program.endStdin();
  const result = program.firstLine.then((line) => {
    const r = parseJsonLine(ADOPT_CHILD_PROGRAM, line);
    return {
      elapsedNs: r.num('elapsedNs'),
      pages: r.num('pages'),
      p50Ns: r.num('p50Ns'),
      p99Ns: r.num('p99Ns'),
      checksum: r.big('checksum'),
      cpuNs: r.num('cpuNs'),
      checkedPages: r.num('checkedPages'),
    };
  });
  result.catch(() => undefined); // awaited by the round; never an unhandled rejection
  return {
    program,
    result,
    go: () => program.writeStdin('go\n'),
    release: () => program.endStdin(),
  };
}
