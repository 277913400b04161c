// The C reference of the adopt scenarios (faultline_adopt_handler): a handler
// process that accepts the child on its socket and serves its uffd with one
// thread and one ioctl per fault, blocking or busy-polling.
import type { Content } from '../faultline.js';
import { parseJsonLine, startProgram, type RunningProgram } from '../native-program.js';

export const ADOPT_HANDLER_PROGRAM = 'faultline_adopt_handler';

export interface AdoptHandlerOptions {
  socket: string;
  mode: 'blocking' | 'busy';
  content: Content;
  /** With content 'file'. */
  file?: string;
  seed: number;
}

export interface AdoptHandlerResult {
  faults: number;
  /** CPU of the handler process from its "go" to the child's "done". */
  cpuNs: number;
}

export function adoptHandlerArgs(o: AdoptHandlerOptions): string[] {
  const args = ['--socket', o.socket, '--handler', o.mode, '--page-content', o.content, '--seed', String(o.seed)];
  if (o.file !== undefined) args.push('--file', o.file);
  return args;
}

export function startAdoptHandler(o: AdoptHandlerOptions): { program: RunningProgram; result: Promise<AdoptHandlerResult> } {
  const program = startProgram(ADOPT_HANDLER_PROGRAM, adoptHandlerArgs(o));
  program.endStdin();
  const result = program.firstLine.then((line) => {
    const r = parseJsonLine(ADOPT_HANDLER_PROGRAM, line);
    return { faults: r.num('faults'), cpuNs: r.num('cpuNs') };
  });
  result.catch(() => undefined); // awaited by the round; never an unhandled rejection
  return { program, result };
}
