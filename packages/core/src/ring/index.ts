// The fault ring: its record codec (message.ts) and the SharedArrayBuffer
// ring itself (ring.ts). Spec: docs/ring.md.
export * from './message.js';
export * from './ring.js';
