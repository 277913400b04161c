/** Resolver module: every page reads as zero (UFFDIO_ZEROPAGE, no copy). */
import type { PageResolver } from '../resolver.js';

export default function createZeroResolver(): PageResolver {
  return { resolve: () => 'zero' };
}
