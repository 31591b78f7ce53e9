#!/usr/bin/env node
// The svcspec launcher (written to dist/svcspec.js by scripts/build.mjs). It runs the CommonJS
// bundle dist/svcspec.cjs through vm.Script with V8's code cache: Node 20 has no compile cache
// for modules, and compiling the bundle was a large part of a small run's start-up.
//
// The cache file is named after the node version, the architecture and the bundle's content
// hash, so a rebuilt bundle or another node never reads a stale one; V8 also checks it (its
// version, flags and the source) and rejects a mismatch, which only costs a normal compile.
// When there is no usable cache, the run writes one as it exits, after the run has compiled the
// functions it used (lazily compiled functions are then in the cache too). Any failure to read
// or write the cache is ignored: the cache only ever saves time.
// It is CommonJS (dist/package.json): an ES-module entry would cost node its ESM loader.
"use strict";
const { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } = require("node:fs");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const { Script } = require("node:vm");

// V8's optimising compiler without inlining. A typical run is a few seconds of code that is
// all new to the JIT: in the 1,000-scenario bench suite TurboFan spent 3.6 s of background CPU
// on ≈ 320 functions (inlining made most of that), so hot functions waited in its queue while
// the interpreter ran them. Without inlining it spends 1.7 s: the suite's wall −12 %, CPU
// −19 % (bench/README.md); a warm 10k-Service rule sync is within 5 % either way. Set before
// the bundle is compiled, so the code cache below is made and checked under the same flags.
require("node:v8").setFlagsFromString("--no-turbo-inlining");

const here = __dirname;
const bundle = join(here, "svcspec.cjs");
const cachePath = join(here, `svcspec.cjs.${process.version}-${process.arch}-__SVCSPEC_BUNDLE_HASH__.cache`);

let cachedData;
try {
  cachedData = readFileSync(cachePath);
} catch {
  cachedData = undefined;
}

// The same wrapper node gives a CommonJS module, so the bundle sees require, module, __filename.
const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, "utf8")}\n})`;
const script = new Script(source, { filename: bundle, cachedData });

if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    const tmp = `${cachePath}.${process.pid}.tmp`;
    try {
      const data = script.createCachedData();
      const fd = openSync(tmp, "w");
      try {
        writeSync(fd, data);
      } finally {
        closeSync(fd);
      }
      // Atomic: a concurrent run reads the old cache, none, or this one, never half of it.
      renameSync(tmp, cachePath);
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
    }
  });
}

const bundleModule = { exports: {} };
script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, here);
