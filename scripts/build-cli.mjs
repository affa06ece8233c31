#!/usr/bin/env node
// Bundles the CLI (src/cli/main.ts; src/code-cache.ts and src/tiering.ts for the bin) into
// dist/cli-bundle/ with esbuild, split into chunks: loading ~400 module files (resolve, translate,
// evaluate each) cost 0.1 s of CPU for `--version` alone, more for a command; a few chunks cost a
// fraction of that. Split, not one file: each command still loads only the chunks it needs
// (`--version` no HCL parser, `images` no registry client).
// Kept out, loaded from node_modules by path as before: hcl2-parser (compiled from its file, with its V8
// code cache, in the referee's thread), web-tree-sitter and the HCL grammar (wasm files found beside
// their packages), sigstore-js (the provenance thread requires it by path).
// dist/ from tsc stays as it is: the App, the library and the tests use it. The Action has its own
// bundle (scripts/build-action.mjs), one file with everything in it.
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { zodEnglishOnly } from "./esbuild-plugins.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = path.join(root, "dist/cli-bundle");

// src/version.ts reads ../package.json beside its module, which a chunk is not. The bundle carries the
// version it was built from instead (`npm pack` and `npm ci` build it from the package.json they ship).
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
if (typeof version !== "string" || version === "") throw new Error("package.json has no version");
const bakedVersion = {
  name: "baked-version",
  setup(b) {
    b.onLoad({ filter: /src[\\/]version\.ts$/ }, () => ({
      contents: `export const version: string = ${JSON.stringify(version)};\n`,
      loader: "ts",
    }));
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: {
    main: path.join(root, "src/cli/main.ts"),
    "code-cache": path.join(root, "src/code-cache.ts"),
    tiering: path.join(root, "src/tiering.ts"),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.18",
  // Not minified: a stack trace names our functions as written, without source maps at run time (and
  // minifying measured no faster start-up: `--version` and `images` alike).
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  chunkNames: "chunks/[name]-[hash]",
  external: [
    "hcl2-parser",
    "web-tree-sitter",
    "@tree-sitter-grammars/*",
    "@sigstore/*",
    // GitHub's client (only with a GitHub token): probot brings pino, whose transports start worker
    // threads from files beside its own modules.
    "probot",
  ],
  plugins: [bakedVersion, zodEnglishOnly],
  // Bundled CommonJS dependencies (execa's cross-spawn, yaml) call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __ngbCreateRequire } from "node:module";\nconst require = __ngbCreateRequire(import.meta.url);',
  },
});
