#!/usr/bin/env node
// `npm pack` / `npm publish` (prepack): dist/ rebuilt from nothing, so a file left behind by an older
// layout (a moved or deleted module) cannot end up in the package.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const build = spawnSync(npm, ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
process.exit(build.status ?? 1);
