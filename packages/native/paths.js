'use strict';
// Where the native build puts its executables (the C baseline handler, test programs).
const { join } = require('node:path');
exports.buildDir = join(__dirname, 'build', 'Release');
exports.addonPath = join(__dirname, 'build', 'Release', 'faultline_native.node');
