'use strict';
// Test and bench helpers (touchPages, ringProduce, encodeUffdMsg,
// makeErrnoError): a separate addon, so production code never loads them and
// a user's `npm install` (configured with -Dfaultline_testing=0) does not even
// build them.
module.exports = require('./load-addon.js')(
  'faultline_testing.node',
  'ERR_FAULTLINE_NATIVE_TESTING_NOT_BUILT',
  'the test addon (@faultline/native/testing)',
  'It is built with the workspace (`npm run build` at the repository root); ' +
    '`npm install` of @faultline/native leaves it out unless given --faultline-testing=1.',
);
