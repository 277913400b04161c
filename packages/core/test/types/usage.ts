// The public API as a TypeScript user calls it. Compiled with --noEmit in
// npm test: a change that breaks these calls fails the test, and so does one
// that loosens a type until a misuse marked below as an expected error compiles.
import {
  FaultHandler,
  FaultlineError,
  ResolverFailure,
  listenForUffds,
  resolvers,
  serveFirecracker,
  type AdoptedUffd,
  type WriteTrackingMode,
  type FaultHandlerOptions,
  type FaultlineErrorCode,
  type HandlerStats,
  type Region,
  type RegionStats,
  type UffdEvent,
} from '@faultline/core';
import type { StripeOptions } from './resolver.js';

export async function main(): Promise<void> {
  const options: FaultHandlerOptions = { workers: 2, spinUs: 100, features: ['remove'] };
  const handler = await FaultHandler.create(options);
  const region: Region = await handler.map({
    size: 1 << 20,
    resolver: resolvers.file('/data/snapshot.bin', { offset: 4096 }),
    readahead: 16,
    onError: 'zero',
    name: 'snapshot',
  });
  const view = new Uint8Array(region.buffer);
  const first: number = view[0]!;
  const stats: RegionStats = region.stats();
  const total: number = stats.faults + stats.pagesInstalled + stats.errors + first;

  handler.on('error', (e: FaultlineError) => {
    const code: FaultlineErrorCode = e.code;
    if (e instanceof ResolverFailure) {
      const where: number = e.address + e.offset + e.regionId;
      const got: 'poisoned' | 'zeroed' | 'none' = e.action;
      void [code, where, got];
    }
  });
  handler.on('uffd-event', (ev: UffdEvent) => {
    if (ev.kind === 'remap') void (ev.from + ev.to + ev.length);
    if (ev.kind === 'fork') void ev.childUffdId;
  });
  handler.on('stats', (s: HandlerStats) => void (s.reader.messages + s.workers.messages + s.ring.stalls));
  handler.on('fault', (f) => void (f.address + f.tid));

  const custom = resolvers.custom<StripeOptions>(new URL('./resolver.js', import.meta.url), { byte: 7 });
  await handler.map({ size: 4096, resolver: custom });
  await handler.map({ size: 4096, resolver: resolvers.pattern({ seed: 1 }) });
  await handler.map({ size: 4096, resolver: resolvers.zero() });
  await handler.map({ size: 4096, resolver: resolvers.snapshot('/data/mem', { offset: 0 }) });
  const tracked = await handler.map({ size: 4096, resolver: resolvers.zero(), trackWrites: 'sync' });
  const mode: WriteTrackingMode | null = tracked.writeTracking;
  void mode;
  const dirty: Uint32Array = tracked.dirtyPages({ reset: true });
  void dirty;
  // @ts-expect-error trackWrites is a boolean, 'async' or 'sync'
  await handler.map({ size: 4096, resolver: resolvers.zero(), trackWrites: 'lazy' });

  const listener = listenForUffds('/tmp/x.sock', { allowUids: [0] }, (conn) => {
    void handler.adopt(conn.uffd, { regions: [{ address: 0x10000, size: 4096, resolver: resolvers.zero() }], events: ['remove'] }).then((a: AdoptedUffd) => {
      a.on('event', (ev) => void ev.uffdId);
      const perRegion: RegionStats[] = a.stats();
      void perRegion;
      return a.close();
    });
  });
  listener.close();

  const server = await serveFirecracker({ socketPath: '/tmp/fc.sock', memFile: '/data/mem', readahead: 4 });
  server.on('client', (c) => void c.regions.map((r) => r.address + r.size + r.offset));
  await server.close();

  await region.unmap();
  const idle: boolean = await handler.idle(500);
  await handler.close();
  void [total, idle];

  // Misuse the types catch.
  // @ts-expect-error onError is 'sigbus' or 'zero'
  await handler.map({ size: 4096, resolver: resolvers.zero(), onError: 'explode' });
  // @ts-expect-error size is a number
  await handler.map({ size: '4096', resolver: resolvers.zero() });
  // @ts-expect-error a resolver spec, not a resolver object
  await handler.map({ size: 4096, resolver: { resolve: () => undefined } });
  // @ts-expect-error unknown uffd feature
  await FaultHandler.create({ features: ['teleport'] });
  // @ts-expect-error adopt() events are fork, remap, remove, unmap
  await handler.adopt(3, { regions: [], events: ['exit'] });
  // @ts-expect-error custom() options must match the resolver's options type
  resolvers.custom<StripeOptions>('/x.mjs', { byte: 'seven' });
}
