// The fault ring (docs/ring.md): its layout and record constants (layout.ts,
// the mirror of native's ring.h), the record codec (message.ts) and the
// SharedArrayBuffer ring itself (ring.ts).
export * from './layout.js';
export * from './message.js';
export * from './ring.js';
