#!/usr/bin/env node
// Makes sure the system tools the tests and the demo run for real are present: skopeo (pushes and
// copies), Debian's docker-registry (a real OCI registry on loopback), redis-server (replicas),
// ssh-keygen and gpg (signed commits). As root on Debian it installs them with apt-get; anywhere else
// it says exactly what to install and fails. With --chromium also a headless browser for the
// screenshot test and `npm run screenshots` (CI asks for it; the demo and a plain `npm test` do not:
// the screenshot test is skipped without one unless CI requires it).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const tools = [
  { command: "skopeo", pkg: "skopeo", path: null },
  { command: "docker-registry", pkg: "docker-registry", path: "/usr/bin/docker-registry" },
  // Replicas of the App share Redis: the replica tests run a real one (redis-cli comes with it).
  { command: "redis-server", pkg: "redis-server", path: "/usr/bin/redis-server" },
  // `apply --commit` signs as git is configured: the tests make an ssh key and an openpgp key.
  { command: "ssh-keygen", pkg: "openssh-client", path: "/usr/bin/ssh-keygen" },
  { command: "gpg", pkg: "gnupg", path: "/usr/bin/gpg" },
  // docs/ci.md's workflow decides with jq; a test runs its condition as the workflow does.
  { command: "jq", pkg: "jq", path: "/usr/bin/jq" },
];
if (process.argv.includes("--chromium")) {
  // Ubuntu names it chromium-browser; GitHub's runners have Google's (scripts/screenshots/chromium.ts
  // takes any of them, or $CHROMIUM).
  tools.push({ command: "chromium", pkg: "chromium", path: null, or: ["chromium-browser", "google-chrome"] });
}

const onPath = (command) => spawnSync("sh", ["-c", 'command -v "$1"', "sh", command]).status === 0;
const has = (tool) =>
  (tool.path && existsSync(tool.path)) ||
  (tool.command === "chromium" && process.env.CHROMIUM && existsSync(process.env.CHROMIUM)) ||
  [tool.command, ...(tool.or ?? [])].some(onPath);

const missing = tools.filter((tool) => !has(tool));
if (missing.length === 0) process.exit(0);

const pkgs = missing.map((tool) => tool.pkg);
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasApt = existsSync("/usr/bin/apt-get");
if (!isRoot || !hasApt) {
  console.error(
    `Missing: ${pkgs.join(", ")}. Install them first, e.g. \`sudo apt-get install -y ${pkgs.join(" ")}\` ` +
      "(Debian/Ubuntu) or your distribution's packages, then run this again.",
  );
  process.exit(1);
}
console.error(
  `Installing ${pkgs.join(", ")} with apt-get (needed for the real-registry tests, the demo and the screenshots)...`,
);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], {
  stdio: ["ignore", "ignore", "inherit"],
  env,
});
const still = missing.filter((tool) => !has(tool));
if (still.length > 0) {
  console.error(`apt-get ran but ${still.map((t) => t.command).join(", ")} is still missing`);
  process.exit(1);
}
