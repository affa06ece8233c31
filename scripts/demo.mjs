#!/usr/bin/env node
// `npm run demo` on a fresh clone: installs the npm dependencies if needed, builds, makes sure the
// system tools are there, then runs the demo (dist/demo/main.js). Plain JS so it runs before `npm ci`.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function step(cmd, args, what) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) {
    console.error(`demo: ${what} failed (exit ${result.status ?? result.signal}); nothing else was run.`);
    process.exit(result.status || 1);
  }
}

const installed = `${root}node_modules/.package-lock.json`;
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(`${root}package-lock.json`).mtimeMs) {
  console.error("demo: installing npm dependencies (npm ci)...");
  step(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], "npm ci");
} else {
  step(npm, ["run", "--silent", "build"], "the TypeScript build");
}
step(process.execPath, [`${root}scripts/ensure-tools.mjs`], "installing skopeo and docker-registry");
const demo = spawnSync(process.execPath, [`${root}dist/demo/main.js`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exit(demo.status ?? 1);
