/** Validation of user input to map()/adopt()/create(), in one place, with errors that say the fix. */
import { FaultlineError, invalidArgument } from './errors.js';
import type { OnErrorPolicy } from './events.js';
import type { ResolverSpec } from './resolver.js';

export function checkPositiveInt(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(`${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

export function checkSize(name: string, value: unknown, pageSize: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value % pageSize !== 0) {
    throw new FaultlineError(
      'ERR_FAULTLINE_INVALID_SIZE',
      `${name} must be a positive multiple of the page size (${pageSize} bytes), got ${String(value)}; ` +
        `round it up to ${roundUp(value, pageSize)}`,
    );
  }
  return value;
}

function roundUp(value: unknown, pageSize: number): string {
  const n = typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : pageSize;
  return String(Math.ceil(n / pageSize) * pageSize);
}

export function checkAddress(name: string, value: unknown, pageSize: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value % pageSize !== 0) {
    throw invalidArgument(`${name} must be a page-aligned address (a number), got ${String(value)}`);
  }
  return value;
}

export function checkResolverSpec(name: string, spec: unknown): ResolverSpec {
  if (
    typeof spec !== 'object' ||
    spec === null ||
    typeof (spec as ResolverSpec).module !== 'string' ||
    (spec as ResolverSpec).module.length === 0
  ) {
    throw invalidArgument(
      `${name} must be a resolver spec { module, options }: use resolvers.file(...), resolvers.pattern(...) or resolvers.custom(url, options)`,
    );
  }
  const s = spec as ResolverSpec;
  try {
    structuredClone(s.options);
  } catch (err) {
    throw new FaultlineError(
      'ERR_FAULTLINE_OPTIONS_NOT_CLONEABLE',
      `${name}.options cannot be sent to the workers (${(err as Error).message}); ` +
        'resolver options must be structured-cloneable: plain data, no functions, class instances or handles',
      { cause: err },
    );
  }
  return { module: s.module, options: s.options };
}

/** onError as a final policy and the retries before it. */
export function checkOnError(value: unknown): { policy: OnErrorPolicy; retries: number } {
  if (value === undefined) return { policy: 'sigbus', retries: 0 };
  if (value === 'sigbus' || value === 'zero') return { policy: value, retries: 0 };
  if (typeof value === 'object' && value !== null && 'retry' in value) {
    const { retry, then } = value as { retry: unknown; then?: unknown };
    const retries = checkPositiveInt('onError.retry', retry, 100);
    if (then !== undefined && then !== 'sigbus' && then !== 'zero') {
      throw invalidArgument(`onError.then must be 'sigbus' or 'zero', got ${String(then)}`);
    }
    return { policy: (then as OnErrorPolicy | undefined) ?? 'sigbus', retries };
  }
  throw invalidArgument(`onError must be 'sigbus', 'zero' or { retry: n, then: 'sigbus' | 'zero' }, got ${String(value)}`);
}

export function checkNonNegativeInt(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalidArgument(`${name} must be an integer from 0 to ${max}, got ${String(value)}`);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be true or false, got ${typeof value}`);
  return value;
}
