#!/usr/bin/env node
// The package's install script: node-gyp-build loads the prebuild that fits this platform or
// compiles the addon with node-gyp. When compiling fails, node-gyp's own output ends with its
// stack of gyp errors; this adds one line after it that says what to install on this OS.
'use strict';
const { spawnSync } = require('node:child_process');

const fix = {
  linux: 'python3, make and g++ (Debian/Ubuntu: apt-get install python3 make g++; Alpine: apk add python3 make g++)',
  freebsd: 'python3 and gmake (pkg install python3 gmake; the C++ compiler is in the base system)',
};

const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { stdio: 'inherit' });
const status = result.status ?? 1;
if (status !== 0) {
  const needs = fix[process.platform] ?? 'python3, make and a C++17 compiler';
  console.error(
    `zbpf: no prebuilt binary for ${process.platform}-${process.arch} and compiling failed (node-gyp's output above ` +
      `says why); compiling needs ${needs}`,
  );
}
process.exit(status);
