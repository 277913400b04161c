'use strict';
// Loads the compiled addon. The addon is context-aware: require() it from the
// main thread or from any worker thread.
module.exports = require('./load-addon.js')(
  'faultline_native.node',
  'ERR_FAULTLINE_NATIVE_NOT_BUILT',
  'the compiled addon',
  'Build it with `npm run build` at the repository root (needs g++, make and python3).',
);
