/**
 * "Is this a file I can serve pages from?", asked in the main thread before
 * any worker is involved: a directory, a device or a missing path would
 * otherwise open fine (or not at all) in a worker and fail only at the first
 * fault, as a SIGBUS in the faulting thread.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { FaultlineError, invalidArgument } from './errors.js';

/**
 * Checks that `path` is a readable regular file and returns its size.
 * `what` names it in the message ("resolvers.file() path", "--mem-file").
 * Throws ERR_FAULTLINE_INVALID_ARGUMENT naming the path and the problem.
 */
export function checkRegularFile(what: string, path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be reached (permission denied)' : `cannot be read (${code ?? (err as Error).message})`;
    throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `${what} '${path}' ${problem}; give the path of a regular file`, { cause: err });
  }
  if (stat.isDirectory()) throw invalidArgument(`${what} '${path}' is a directory; give the path of a regular file in it`);
  if (!stat.isFile()) throw invalidArgument(`${what} '${path}' is not a regular file (a device, socket or pipe); give the path of a regular file`);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', `${what} '${path}' is not readable by this process (permission denied)`, { cause: err });
  }
  return stat.size;
}
