/**
 * What map() and adopt() check of a resolver in the main thread, before any
 * worker loads it: a mistake found here is an error from map() naming the
 * problem, not a SIGBUS at the first fault.
 *
 * - file() and snapshot(): the path is a readable regular file; the offset is
 *   a non-negative multiple of the page size. A region reaching past the end
 *   of the file is allowed: those bytes read as zero (both resolvers
 *   zero-fill past EOF; a file may grow, and a sparse tail is a common way
 *   to describe zeroed memory).
 * - custom() with a file: URL: the module exists (relative paths were made
 *   absolute against process.cwd() by resolvers.custom()).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FaultlineError, invalidArgument } from '../errors.js';
import { checkRegularFile } from '../file-check.js';
import type { ResolverSpec } from '../resolver.js';
import { builtinName } from '../resolvers/index.js';
import { describeValue } from '../validate.js';

/** `where` names the region's resolver in messages ('resolver', 'regions[1].resolver'). */
export function checkResolverSource(where: string, spec: ResolverSpec, pageSize: number): void {
  const builtin = builtinName(spec);
  if (builtin === 'file' || builtin === 'snapshot') {
    // resolvers.file()/snapshot() made these options; they are re-checked here
    // because a spec is plain data that may have been built or edited by hand.
    const { path, offset } = (spec.options ?? {}) as { path?: unknown; offset?: unknown };
    if (typeof path !== 'string' || path === '') {
      throw invalidArgument(`${where}: resolvers.${builtin}() needs a file path, got ${describeValue(path)}`);
    }
    if (offset !== undefined && (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset % pageSize !== 0)) {
      throw invalidArgument(
        `${where}: resolvers.${builtin}() offset must be a non-negative multiple of the page size (${pageSize}), got ${describeValue(offset)}`,
      );
    }
    checkRegularFile(`${where}: resolvers.${builtin}() path`, path);
    return;
  }
  if (builtin === null && spec.module.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(spec.module);
    } catch (err) {
      throw new FaultlineError('ERR_FAULTLINE_RESOLVER_LOAD', `${where}: ${spec.module} is not a valid file: URL (${(err as Error).message})`, { cause: err });
    }
    if (!existsSync(path)) {
      throw new FaultlineError(
        'ERR_FAULTLINE_RESOLVER_LOAD',
        `${where}: resolver module ${path} does not exist ` +
          `(resolvers.custom() resolves a relative path against the current directory, ${process.cwd()})`,
      );
    }
  }
}
