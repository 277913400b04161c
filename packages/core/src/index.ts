/**
 * @faultline/core — handle your own page faults from Node.js.
 *
 *   const handler = await FaultHandler.create({ workers: 2 });
 *   const region = await handler.map({ size: 1 << 30, resolver: resolvers.file('/data/snapshot.bin') });
 *   new Uint8Array(region.buffer)[123456789];   // faulted in by a worker from the file
 *   await handler.close();
 */
export { FaultHandler } from './handler/handler.js';
export type { FaultHandlerOptions, MapOptions, AdoptOptions, AdoptRegion, CloseOptions, CloseReport } from './handler/config.js';
export type { Backing, InstallMode } from './handler/memory.js';
export type { WriteTrackingMode } from './handler/write-tracking.js';
export type { PageCacheOptions } from './resolvers/page-cache.js';
export { Region } from './handler/region.js';
export { AdoptedUffd } from './handler/adopted.js';
export type { AdoptedUffdEvents } from './handler/adopted.js';
export { ResolverFailure, UFFD_EVENT_KINDS } from './events.js';
export type {
  FailureAction,
  FaultHandlerEvents,
  FaultSample,
  HandlerStats,
  OnError,
  OnErrorPolicy,
  UffdEvent,
  UffdEventKind,
} from './events.js';
export { FaultlineError, FAULTLINE_ERROR_CODES } from './errors.js';
export type { FaultlineErrorCode } from './errors.js';
export type { FeatureName } from './features.js';
export type { RegionStats } from './shared/region-stats.js';
export type {
  PageResolver,
  ResolveRequest,
  ResolveResult,
  ResolverFactory,
  ResolverInfo,
  ResolverSpec,
} from './resolver.js';
export * as resolvers from './resolvers/index.js';
export { writeTrace, readTrace } from './trace/trace-file.js';
export type { TraceFile, TraceRegion, WriteTraceOptions } from './trace/trace-file.js';
export type { Trace, PrefetchPlan, PrefetchReport } from './trace/plan.js';
export { patternByte, patternWord, fillPattern } from './resolvers/pattern-bytes.js';
export { listenForUffds } from './ipc/uffd-listener.js';
export type { UffdConnection, UffdListener, UffdListenerOptions } from './ipc/uffd-listener.js';
export { serveFirecracker, FirecrackerServer } from './firecracker/server.js';
export type {
  FirecrackerServerOptions,
  FirecrackerClient,
  FirecrackerRejection,
  FirecrackerServerEvents,
} from './firecracker/server.js';
export { parseHandshake, FirecrackerHandshakeError } from './firecracker/handshake.js';
export type { GuestRegionMapping, FirecrackerErrorCode } from './firecracker/handshake.js';
