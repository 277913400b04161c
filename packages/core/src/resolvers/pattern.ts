/**
 * Resolver module: deterministic content (see pattern-bytes.ts, the
 * reference), for tests and benchmarks. Filled natively: with readahead a
 * fault asks for up to 64 pages, and the JS fill (~400 MB/s) was the bound.
 */
import native from '@faultline/native';
import type { PageResolver, ResolveRequest } from '../resolver.js';

export interface PatternOptions {
  seed?: number;
}

export default function createPatternResolver(options: PatternOptions = {}): PageResolver {
  const seed = (options.seed ?? 0) >>> 0; // the pattern mixes the seed's 32 bits
  return {
    resolve(request: ResolveRequest, out: Uint8Array) {
      native.fillPattern(out, seed, request.offset / 4);
    },
  };
}
