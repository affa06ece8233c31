// V8 bytecode of a large CommonJS file we ship (hcl2-parser's 3.8 MB GopherJS bundle), kept between
// runs: compiling that bundle is most of a short run's start-up (about 250 ms of CPU; with the cache
// about 110 ms), and on a machine whose CPUs are shared that CPU is wall time. Also Node's own
// compile cache for our modules (Node ≥ 22.1), in a folder of the same directory.
//
// Trust: a code cache is code. V8 checks only that it was made by this V8 with these flags for a
// source of this length, not that its bytecode is that source's, so a cache file someone else could
// write would run as our code. Cache files are therefore read and written only in a directory owned by
// this user that nobody else may write (as ssh treats ~/.ssh), under a name that is the sha256 of the
// exact bytes compiled (with Node's version, the CPU and V8's flags), and each carries a sha256 of its
// own bytes: a truncated or damaged file is refused before V8 sees it, and whatever V8 still refuses
// is compiled from source and the file rewritten. A failure anywhere here only means
// running without the cache: never an error, never a different result.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";

/** Where cache files go: a directory, or `off` to keep none. */
const CACHE_DIR_ENV = "NOMAD_GITOPS_BOT_CACHE_DIR";

/**
 * The cache directory: $NOMAD_GITOPS_BOT_CACHE_DIR, else $XDG_CACHE_HOME/nomad-gitops-bot, else
 * ~/.cache/nomad-gitops-bot; undefined when turned off (`off`) or there is no home to put it in.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env[CACHE_DIR_ENV];
  if (set === "off") return undefined;
  if (set) return path.resolve(set);
  // The XDG spec says a relative XDG_CACHE_HOME is to be ignored.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME))
    return path.join(env.XDG_CACHE_HOME, "nomad-gitops-bot");
  let home: string;
  try {
    home = os.homedir();
  } catch {
    return undefined;
  }
  return home ? path.join(home, ".cache", "nomad-gitops-bot") : undefined;
}

/** Creates `dir` (0700) if missing; true when it is ours alone (see Trust above), so usable. */
function privateDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return loaderHere().ownedAlone(statSync(dir));
  } catch {
    return false;
  }
}

/** A CommonJS file to compile, and where its bytecode is kept. */
export interface CommonJsLoad {
  /** Names its cache files: `<name>-<key>.v8cache`. */
  name: string;
  filename: string;
  /** A private directory (codeCacheDir); undefined: no cache. */
  dir: string | undefined;
}

/** The directory to keep bytecode in, created if need be; undefined when off or not private to us. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = cacheDir(env);
  return dir !== undefined && privateDir(dir) ? dir : undefined;
}

/**
 * Saves bytecode for `file` (a temp file renamed over it, so a reader sees a whole file or none) and
 * prunes the files of other versions beside it to the most recent few; false when it could not be written.
 */
export function saveCodeCache(file: string, data: Uint8Array): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const sum = createHash("sha256").update(data).digest();
    writeFileSync(temp, Buffer.concat([sum, data]), { mode: 0o600, flag: "wx" });
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
  const dir = path.dirname(file);
  // Files of one shipped file share the name before the key (which covers the parser's bytes and the
  // Node version). Only the most recent few others stay: removing every other one made two Node
  // versions sharing this directory (nvm, a CI matrix on one runner) delete each other's file on every
  // run, so each compiled from source; keeping all would let upgrades pile up 3.5 MB files.
  const prefix = path.basename(file).replace(/[0-9a-f]+\.v8cache$/, "");
  try {
    const others = readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith(".v8cache") && path.join(dir, f) !== file)
      .map((f) => ({ f, mtime: statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { f } of others.slice(OTHER_VERSIONS_KEPT)) rmSync(path.join(dir, f), { force: true });
  } catch {
    // Another process pruning at the same time; the files are only larger than they need be.
  }
  return true;
}

/** Cache files of other versions (of Node or of the parser) kept beside the one just written. */
export const OTHER_VERSIONS_KEPT = 3;

/** How a load used the cache: what it read, and whether it saved fresh bytecode. */
export interface CodeCacheUse {
  /** off: caching is off or has no usable directory; none: no (intact) file; rejected: V8 refused it. */
  read: "off" | "none" | "accepted" | "rejected";
  written: boolean;
}

/**
 * CommonJS source (for a worker thread, which runs code given as text, and for this thread through
 * runCommonJsHere: one implementation) defining `ownedAlone(stat)`, the check for cache files and the
 * cache directory alike, and `runCommonJs(load, require)`: reads the file and its cached bytecode (in
 * the thread that compiles, so the reading and hashing cost the caller's thread nothing), compiles it
 * with that bytecode, runs it as require() would (module, exports, require, __filename, __dirname;
 * `this` is exports; then in require's cache), and returns its exports, what it read from the cache,
 * the file to save bytecode to, and `codeCache()`: the bytecode to save there, or undefined when the
 * cached bytecode was accepted or there is no cache. Call that after the module has done some work: the
 * bytecode then includes the functions that work compiled. Throws when the file cannot be read or run,
 * as require() does.
 */
export const RUN_COMMONJS = `
// Whether a file or directory is ours alone: owned by this user, writable by nobody else. Windows has no
// owners in this sense: its profile directories are private to the user already.
function ownedAlone(stat) {
  const uid = process.getuid?.();
  return uid === undefined || (stat.uid === uid && (stat.mode & 0o022) === 0);
}

function runCommonJs(load, require) {
  const { createHash } = require("node:crypto");
  const fs = require("node:fs");
  const path = require("node:path");
  const { Module, createRequire } = require("node:module");
  const bytes = fs.readFileSync(load.filename);
  let cacheFile;
  let cachedData;
  if (load.dir !== undefined) {
    const key = createHash("sha256")
      .update(bytes)
      .update("\\0" + process.version + "\\0" + process.arch + "\\0" + process.versions.v8)
      // V8's tag for its code cache: its version, the CPU's features and the flags set, which the CLI
      // changes (src/tiering.ts). A file per tag: an App and a CLI sharing this directory would
      // otherwise reject and rewrite each other's file on every run.
      .update("\\0" + require("node:v8").cachedDataVersionTag())
      .digest("hex");
    cacheFile = path.join(load.dir, load.name + "-" + key.slice(0, 32) + ".v8cache");
    cachedData = readChecked(cacheFile);
  }
  // The temporary file of a write in progress is never read: only whole files are renamed in.
  function readChecked(file) {
    try {
      if (!ownedAlone(fs.statSync(file))) return undefined;
      // The file: a sha256 (32 bytes) of the rest, then V8's bytecode (see saveCodeCache).
      const content = fs.readFileSync(file);
      const data = content.subarray(32);
      const sum = createHash("sha256").update(data).digest();
      return data.length > 0 && sum.equals(content.subarray(0, 32)) ? data : undefined;
    } catch {
      return undefined;
    }
  }
  const script = new (require("node:vm").Script)(Module.wrap(bytes.toString("utf8")), {
    filename: load.filename,
    cachedData,
  });
  const module = new Module(load.filename);
  module.filename = load.filename;
  const main = script.runInThisContext();
  main.call(module.exports, module.exports, createRequire(load.filename), module, load.filename, path.dirname(load.filename));
  // As require() leaves it: a later require() of the file in this thread gets these exports.
  module.loaded = true;
  require.cache[load.filename] = module;
  const read =
    cacheFile === undefined ? "off" : cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "accepted";
  return {
    exports: module.exports,
    read,
    cacheFile,
    codeCache: () => (read === "none" || read === "rejected" ? script.createCachedData() : undefined),
  };
}
`;

export interface RanCommonJs {
  exports: unknown;
  read: CodeCacheUse["read"];
  cacheFile: string | undefined;
  codeCache(): Uint8Array | undefined;
}

interface Loader {
  runCommonJs(load: CommonJsLoad, require: NodeJS.Require): RanCommonJs;
  ownedAlone(stat: { uid: number; mode: number }): boolean;
}

let here: Loader | undefined;

/** RUN_COMMONJS's functions in this thread: the same code the referee's thread runs. */
function loaderHere(): Loader {
  here ??= vm.runInThisContext(
    `(function () {${RUN_COMMONJS}\nreturn { runCommonJs, ownedAlone };\n})`,
  )() as Loader;
  return here;
}

/** runCommonJs in this thread. */
export function runCommonJsHere(load: CommonJsLoad): RanCommonJs {
  return loaderHere().runCommonJs(load, createRequire(import.meta.url));
}

/**
 * Node's compile cache for the modules this process loads from now on (Node ≥ 22.1; elsewhere, or
 * when caching is off, nothing happens), in a folder of the cache directory.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const module: { enableCompileCache?: (dir: string) => unknown } = createRequire(import.meta.url)(
    "node:module",
  );
  const dir = module.enableCompileCache && codeCacheDir(env);
  if (!dir) return;
  const folder = path.join(dir, "node-compile-cache");
  if (privateDir(folder)) module.enableCompileCache!(folder);
}
