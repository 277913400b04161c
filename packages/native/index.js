'use strict';
// Loads the compiled addon. The addon is context-aware: require() it from the
// main thread or from any worker thread.
const { join } = require('node:path');

let binding;
try {
  binding = require(join(__dirname, 'build', 'Release', 'faultline_native.node'));
} catch (err) {
  const e = new Error(
    `@faultline/native: the compiled addon could not be loaded (${err.message}). ` +
      'Build it with `npm run build` at the repository root (needs g++, make and python3).',
  );
  e.code = 'ERR_FAULTLINE_NATIVE_NOT_BUILT';
  e.cause = err;
  throw e;
}
module.exports = binding;
