// A custom resolver module as a user writes it, typed with the public contract.
import type { PageResolver, ResolverFactory, ResolveRequest, ResolveResult } from '@faultline/core';

export interface StripeOptions {
  byte: number;
}

const create: ResolverFactory<StripeOptions> = (options, info) => {
  const resolver: PageResolver = {
    resolve(request: ResolveRequest, out: Uint8Array): ResolveResult {
      if (request.offset >= info.regionSize) return 'poison';
      out.fill(options.byte);
      return { filled: request.length };
    },
    close() {},
  };
  return resolver;
};
export default create;

// @ts-expect-error a resolver must answer with a ResolveResult
export const wrong: PageResolver = { resolve: () => 42 };
