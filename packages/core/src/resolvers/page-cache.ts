/**
 * Resolver module: the page cache already holds the data (resolvers.pageCache()).
 * A minor fault — the page is in the memfd's or shmem's page cache, put there
 * through another mapping, but not mapped in the faulting range — is answered
 * 'continue': UFFDIO_CONTINUE maps that very page, nothing is copied. A
 * missing fault (the page is in no page cache: nobody wrote it) gets
 * `missing`: 'zero' (a zero page, what the memory would read without
 * Faultline) or 'poison' (SIGBUS: a page that should have been provided).
 */
import type { PageResolver, ResolveRequest } from '../resolver.js';

export interface PageCacheOptions {
  missing?: 'zero' | 'poison';
}

export default function createPageCacheResolver(options: PageCacheOptions = {}): PageResolver {
  const missing = options.missing ?? 'zero';
  return { resolve: (request: ResolveRequest) => (request.minor ? 'continue' : missing) };
}
