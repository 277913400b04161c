/** Validation of user input to map()/adopt()/create(), in one place, with errors that say the fix. */
import { FaultlineError, invalidArgument } from './errors.js';
import type { OnError, OnErrorPolicy } from './events.js';
import type { ResolverSpec } from './resolver.js';
import { closestName } from './suggest.js';

/**
 * What a received value is, for messages: its type and (short) value, so
 * `'2'` reads as "string '2'" and not as "2". Never throws, whatever it is
 * given (null-prototype objects, symbols and proxies included).
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `string '${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'bigint':
      return `bigint ${String(value)}n`;
    case 'symbol':
      return `symbol ${value.description ?? ''}`.trimEnd();
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return `an array of ${value.length}`;
      return `an object${className(value as object)}`;
  }
}

function className(value: object): string {
  try {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) return '';
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? ` (${name})` : '';
  } catch {
    return '';
  }
}

/**
 * The option names of an options type T, listed once. The compiler refuses a
 * list that names a key T does not have or misses one it has, so adding an
 * option to an interface without listing it fails the build instead of being
 * refused at run time as "unknown".
 */
export function optionNames<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...names: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })
  ): readonly (keyof T & string)[] => names;
}

/**
 * Checks that `value` is an options object whose keys are all in `known`:
 * a misspelled option is an error naming the closest valid one, never
 * silently ignored. `what` names the call ('FaultHandler.create()').
 */
export function checkOptions<T = Record<string, unknown>>(what: string, value: unknown, known: readonly string[]): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${what} takes an options object { ${known.join(', ')} }, got ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closestName(key, known);
    throw invalidArgument(
      `${what}: unknown option '${key}'; ` +
        (near !== undefined ? `did you mean '${near}'?` : `the options are ${known.map((k) => `'${k}'`).join(', ')}`),
    );
  }
  return value as T;
}

export function checkPositiveInt(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(`${name} must be a positive integer (at most ${max}), got ${describeValue(value)}`);
  }
  return value;
}

export function checkSize(name: string, value: unknown, pageSize: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value % pageSize !== 0) {
    throw new FaultlineError(
      'ERR_FAULTLINE_INVALID_SIZE',
      `${name} must be a positive multiple of the page size (${pageSize} bytes), got ${describeValue(value)}; ` +
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
    throw invalidArgument(`${name} must be a page-aligned address (a number), got ${describeValue(value)}`);
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
      `${name} must be a resolver spec { module, options }: use resolvers.file(...), resolvers.pattern(...) or resolvers.custom(url, options); ` +
        `got ${describeValue(spec)}`,
    );
  }
  const s = checkOptions<ResolverSpec>(name, spec, RESOLVER_SPEC_KEYS);
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
export function checkOnError(value: unknown, name = 'onError'): { policy: OnErrorPolicy; retries: number } {
  if (value === undefined) return { policy: 'sigbus', retries: 0 };
  if (value === 'sigbus' || value === 'zero') return { policy: value, retries: 0 };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { retry, then } = checkOptions<Record<string, unknown>>(name, value, ON_ERROR_KEYS);
    const retries = checkPositiveInt(`${name}.retry`, retry, 100);
    if (then !== undefined && then !== 'sigbus' && then !== 'zero') {
      throw invalidArgument(`${name}.then must be 'sigbus' or 'zero', got ${describeValue(then)}`);
    }
    return { policy: (then as OnErrorPolicy | undefined) ?? 'sigbus', retries };
  }
  throw invalidArgument(`${name} must be 'sigbus', 'zero' or { retry: n, then: 'sigbus' | 'zero' }, got ${describeValue(value)}`);
}

export function checkNonNegativeInt(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalidArgument(`${name} must be a non-negative integer (at most ${max}), got ${describeValue(value)}`);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be true or false, got ${describeValue(value)}`);
  return value;
}

/** A string naming something (a region: its key in stats()). */
export function checkName(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(`${name} must be a string, got ${describeValue(value)}`);
  return value;
}

/**
 * A list of names from `allowed`. A lone string is refused with the list
 * form to use: iterating it would check its letters one by one.
 */
export function checkNameList<N extends string>(name: string, value: unknown, allowed: readonly N[], what: string): N[] {
  if (!Array.isArray(value)) {
    throw invalidArgument(
      `${name} must be an array of ${what} names, e.g. ['${typeof value === 'string' && (allowed as readonly string[]).includes(value) ? value : allowed[0]}']; ` +
        `got ${describeValue(value)}`,
    );
  }
  for (const item of value) {
    if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) {
      const near = typeof item === 'string' ? closestName(item, allowed) : undefined;
      throw invalidArgument(
        `unknown ${what} ${typeof item === 'string' ? `'${item}'` : describeValue(item)} in ${name}` +
          (near !== undefined ? `; did you mean '${near}'?` : '') +
          ` (known: ${allowed.join(', ')})`,
      );
    }
  }
  return value as N[];
}

/** The keys of a ResolverSpec (what resolvers.* return). */
const RESOLVER_SPEC_KEYS = optionNames<ResolverSpec>()('module', 'options');
/** The keys of onError's object form. */
const ON_ERROR_KEYS = optionNames<Extract<OnError, object>>()('retry', 'then');
