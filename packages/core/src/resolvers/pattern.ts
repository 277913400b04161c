/** Resolver module: deterministic content (see pattern-bytes.ts), for tests and benchmarks. */
import type { PageResolver, ResolveRequest } from '../resolver.js';
import { fillPattern } from './pattern-bytes.js';

export interface PatternOptions {
  seed?: number;
}

export default function createPatternResolver(options: PatternOptions = {}): PageResolver {
  const seed = options.seed ?? 0;
  return {
    resolve(request: ResolveRequest, out: Uint8Array) {
      fillPattern(seed, request.offset, out);
    },
  };
}
