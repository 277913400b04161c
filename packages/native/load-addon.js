'use strict';
// Loads a compiled addon of this package from build/Release, or throws an
// error that says how to build it (`code` names which one is missing).
const { join } = require('node:path');

module.exports = function loadAddon(file, code, what, howToBuild) {
  try {
    return require(join(__dirname, 'build', 'Release', file));
  } catch (err) {
    const e = new Error(`@faultline/native: ${what} could not be loaded (${err.message}). ${howToBuild}`);
    e.code = code;
    e.cause = err;
    throw e;
  }
};
