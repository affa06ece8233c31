#!/usr/bin/env node
// Bundles the GitHub Action (src/action/main.ts) into dist-action/, committed so a workflow runs it
// without `npm ci`: one ESM file for Node 24 plus the two wasm files the HCL parser loads beside it.
// Reproducible: the same sources and lockfile give the same bytes (CI rebuilds and compares:
// `node scripts/build-action.mjs --check`). `--out DIR` builds into DIR instead (the Action's end-to-end
// test and benchmark run the bundle of the current sources, as the runner would, without touching dist-action/).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { zodEnglishOnly } from "./esbuild-plugins.mjs";

// src/jobfile/parse.ts loads hcl2-parser (0.9 s) on first use through a require() made by createRequire,
// which esbuild cannot follow. In the bundle that line goes, so the call is the plain require() esbuild
// turns into a lazily evaluated bundled module: still loaded on first use, and without node_modules.
const lazyHcl2 = {
  name: "lazy-hcl2-parser",
  setup(b) {
    b.onLoad({ filter: /src[\\/]jobfile[\\/]parse\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const line = "const require = createRequire(import.meta.url);";
      if (!source.includes(line)) throw new Error(`${args.path}: expected "${line}"`);
      return { contents: source.replace(line, ""), loader: "ts" };
    });
  },
};

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const check = process.argv.includes("--check");
const target = path.join(root, "dist-action");
const outArg = process.argv.indexOf("--out");
const out = check
  ? mkdtempSync(path.join(os.tmpdir(), "ngb-action-"))
  : outArg > 0 && process.argv[outArg + 1]
    ? path.resolve(process.argv[outArg + 1])
    : target;

if (!check) rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, "src/action/main.ts")],
  outfile: path.join(out, "index.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [lazyHcl2, zodEnglishOnly],
  // Bundled CommonJS dependencies call require() for Node's own modules.
  banner: {
    js: 'import{createRequire as __ngbRequire}from"node:module";const require=__ngbRequire(import.meta.url);',
  },
});
copyFileSync(require.resolve("web-tree-sitter/web-tree-sitter.wasm"), path.join(out, "web-tree-sitter.wasm"));
copyFileSync(
  require.resolve("@tree-sitter-grammars/tree-sitter-hcl/tree-sitter-hcl.wasm"),
  path.join(out, "tree-sitter-hcl.wasm"),
);

if (check) {
  const names = (dir) => readdirSync(dir).sort();
  const differ =
    names(out).join() !== names(target).join() ||
    names(out).some((f) => !readFileSync(path.join(out, f)).equals(readFileSync(path.join(target, f))));
  rmSync(out, { recursive: true, force: true });
  if (differ) {
    console.error("dist-action/ does not match the sources: run `npm run build:action` and commit it.");
    process.exit(1);
  }
  console.log("dist-action/ matches the sources.");
}
