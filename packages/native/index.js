'use strict';
// Loads the compiled addon. The addon is context-aware: require() it from the
// main thread or from any worker thread.
module.exports = require('./load-addon.js')(
  'faultline_native.node',
  'ERR_FAULTLINE_NATIVE_NOT_BUILT',
  'the compiled addon',
  'In the Faultline repository, build it with `npm run build`; in a project that installed ' +
    '@faultline/native, `npm rebuild @faultline/native` runs its build again and shows why it failed ' +
    '(needs g++, make, python3 and the Node headers).',
);
