#!/usr/bin/env node
// CI: the npm package works without this repository. Packs the tarball (prepack rebuilds dist/, the CLI's
// bundle included), installs it into an empty directory, then runs what a user runs from there:
// `npx nomad-gitops-bot plan` against a throwaway registry on 127.0.0.1, and `npx probot run
// nomad-gitops-bot` answering a signed webhook.
// Also: a fresh `npm ci` of this lockfile and the install of the tarball print no EBADENGINE warning on
// this Node (run it on every supported Node: .ci/run does, on the floor and on the newest line).
/* global fetch, setTimeout */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const work = mkdtempSync(path.join(os.tmpdir(), "ngb-package-"));
const env = {
  ...process.env,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};
const cleanups = [];
let failed = false;

/** Enough of semver for an engines field made of "^X.Y.Z" and ">=X[.Y[.Z]]" alternatives. */
function satisfies(version, range) {
  const v = version.split(".").map(Number);
  const cmp = (a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0);
  return range.split("||").some((alt) => {
    const m = /^\s*(\^|>=\s*)(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(alt);
    if (!m) throw new Error(`engines: cannot read "${alt.trim()}"`);
    const min = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    return cmp(v, min) >= 0 && (m[1] !== "^" || v[0] === min[0]);
  });
}

function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${!ok && detail ? `\n${detail.replace(/^/gm, "     ")}` : ""}`);
  if (!ok) failed = true;
  return ok;
}

try {
  // The warning check below only means something on a Node the package claims to support.
  if (
    !check(
      satisfies(process.versions.node, pkg.engines.node),
      `Node ${process.version} is in engines (${pkg.engines.node})`,
    )
  )
    throw new Error("run this on a supported Node");
  // 1. Engines: the lockfile as a fresh `npm ci` sees it (dry run: engines are checked, nothing installed).
  const lockDir = path.join(work, "lock");
  mkdirSync(lockDir);
  copyFileSync(path.join(root, "package.json"), path.join(lockDir, "package.json"));
  copyFileSync(path.join(root, "package-lock.json"), path.join(lockDir, "package-lock.json"));
  const dry = await execa("npm", ["ci", "--dry-run", "--ignore-scripts"], {
    cwd: lockDir,
    env,
    all: true,
    reject: false,
  });
  check(dry.exitCode === 0, `npm ci --dry-run on Node ${process.version}`, dry.all);
  check(
    !/EBADENGINE/.test(dry.all ?? ""),
    `no EBADENGINE from a fresh npm ci on Node ${process.version} (engines: ${pkg.engines.node})`,
    (dry.all ?? "")
      .split("\n")
      .filter((l) => /EBADENGINE/.test(l))
      .join("\n"),
  );

  // 2. The tarball: what it holds.
  const packed = await execa("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: root,
    env,
    reject: false,
  });
  if (!check(packed.exitCode === 0, "npm pack", packed.stderr)) throw new Error("npm pack failed");
  const [info] = JSON.parse(packed.stdout);
  const files = new Set(info.files.map((f) => f.path));
  for (const needed of [
    "bin/nomad-gitops-bot",
    "dist/cli-bundle/main.js",
    "dist/cli-bundle/code-cache.js",
    "dist/cli/main.js",
    "dist/app.js",
    "app.yml",
    "schema/nomad-gitops.schema.json",
    "README.md",
    "LICENSE",
  ])
    check(files.has(needed), `the tarball has ${needed}`);
  // The bin runs the CLI's bundle: every chunk it can import (at once, or when a command loads) is packed.
  const bundled = [...files].filter((f) => f.startsWith("dist/cli-bundle/") && f.endsWith(".js"));
  const unpacked = bundled.flatMap((f) =>
    [...readFileSync(path.join(root, f), "utf8").matchAll(/(?:\bfrom|\bimport\()\s*"(\.\.?\/[^"]+)"/g)]
      .map((m) => path.posix.join(path.posix.dirname(f), m[1]))
      .filter((target) => !files.has(target))
      .map((target) => `${f} imports ${target}`),
  );
  check(
    bundled.length > 2 && unpacked.length === 0,
    `the tarball has the CLI bundle and every chunk it imports (${bundled.length} files)`,
    unpacked.join("\n") || `only ${bundled.join(", ")}`,
  );
  const stray = [...files].filter((f) => /^(src|test|bench|scripts|nomad|docs)\/|\.map$|\.ts$/.test(f));
  check(stray.length === 0, "the tarball has no sources, tests or source maps", stray.join("\n"));
  check(!("private" in pkg), "package.json is not private");

  // 3. Installed into an empty directory, as a user would.
  const user = path.join(work, "user");
  mkdirSync(user);
  writeFileSync(path.join(user, "package.json"), '{ "name": "user", "private": true }\n');
  const install = await execa("npm", ["install", "--prefer-offline", path.join(work, info.filename)], {
    cwd: user,
    env,
    all: true,
    reject: false,
  });
  if (!check(install.exitCode === 0, `npm install ${info.filename} into an empty directory`, install.all))
    throw new Error("install failed");
  // A user's install is resolved from the package's ranges alone: `overrides` never reach it. Any
  // EBADENGINE here is what a user sees, so it fails. (@octokit/request 10.0.15+ needs content-type 3,
  // which asks for Node 22: the octokit packages that ask for it are pinned one release back in
  // `dependencies`; docs/install.md says why and when to lift that.)
  const warned = (install.all ?? "")
    .split("\n")
    .filter((l) => /EBADENGINE/.test(l))
    .join("\n");
  check(warned === "", `no EBADENGINE installing the tarball on Node ${process.version}`, warned);

  const version = await execa("npx", ["--no-install", "nomad-gitops-bot", "--version"], {
    cwd: user,
    env,
    reject: false,
  });
  check(
    version.stdout.trim() === pkg.version,
    `npx nomad-gitops-bot --version prints ${pkg.version}`,
    version.all ?? version.stderr,
  );

  // 4. `plan` from the installed package against a real registry on loopback.
  const { startLocalRegistry } = await import(path.join(root, "dist/demo/sandbox/registry.js"));
  const { buildImage, pushTestImage } = await import(path.join(root, "dist/demo/sandbox/oci.js"));
  const registry = await startLocalRegistry();
  cleanups.push(() => registry.stop());
  const repo = path.join(work, "repo");
  mkdirSync(path.join(repo, ".github"), { recursive: true });
  mkdirSync(path.join(repo, "nomad"));
  const image = `${registry.host}/acme/web`;
  writeFileSync(path.join(repo, ".github/nomad-gitops.yml"), `registry: ${registry.host}/acme\n`);
  writeFileSync(
    path.join(repo, "nomad/web.nomad.hcl"),
    `job "web" {\n  group "web" {\n    task "web" {\n      driver = "docker"\n      config {\n        image = "${image}:latest"\n      }\n    }\n  }\n}\n`,
  );
  const git = (...args) =>
    execa("git", args, {
      cwd: repo,
      env: {
        ...env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.com",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.com",
      },
    });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "web");
  const sha = (await git("rev-parse", "HEAD")).stdout.trim();
  const digest = await pushTestImage(
    registry.host,
    "acme/web",
    sha,
    buildImage({ layers: [{ "app.txt": "web v1\n" }] }),
  );
  const plan = await execa("npx", ["--no-install", "nomad-gitops-bot", "plan", "--repo", repo, "--json"], {
    cwd: user,
    env,
    reject: false,
  });
  let web;
  try {
    web = JSON.parse(plan.stdout).services.find((s) => s.name === "web");
  } catch {
    web = undefined;
  }
  check(
    plan.exitCode === 0 && web?.status === "new" && web?.new?.digest === digest,
    "npx nomad-gitops-bot plan --json finds the pushed image as a new pin",
    `exit ${plan.exitCode}\n${plan.stdout}\n${plan.stderr}`,
  );

  // 5. The App from the installed package: `probot run nomad-gitops-bot` answers signed webhooks only.
  const port = await (await import(path.join(root, "dist/demo/sandbox/registry.js"))).freePort();
  const secret = "package-check-secret";
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const app = execa("npx", ["--no-install", "probot", "run", "nomad-gitops-bot"], {
    cwd: user,
    env: {
      ...env,
      APP_ID: "1",
      PRIVATE_KEY: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      WEBHOOK_SECRET: secret,
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "info",
      NODE_ENV: "production",
    },
    all: true,
    reject: false,
    // Its own process group: npx does not pass SIGTERM on to the probot process it started.
    detached: true,
  });
  cleanups.push(async () => {
    process.kill(-app.pid, "SIGTERM");
    await app;
  });
  let up = false;
  for (let i = 0; i < 100 && !up && app.exitCode === null; i++) {
    up = await fetch(`http://127.0.0.1:${port}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (!up) await new Promise((r) => setTimeout(r, 200));
  }
  if (check(up, "npx probot run nomad-gitops-bot starts and answers /ping", app.all ?? "")) {
    // An event the App does not act on: proves the app module loaded and the signature is checked.
    const body = JSON.stringify({
      action: "completed",
      check_suite: { id: 1 },
      repository: { id: 1, name: "r", owner: { login: "o" } },
      installation: { id: 1 },
    });
    const deliver = (signature) =>
      fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "check_suite",
          "x-github-delivery": "package-check",
          "x-hub-signature-256": signature,
        },
        body,
      }).then((r) => r.status);
    const sign = (key) => `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
    check((await deliver(sign(secret))) === 200, "a correctly signed webhook is accepted");
    check(
      [400, 401].includes(await deliver(sign("wrong"))),
      "a webhook signed with another secret is refused",
    );
  }
} catch (error) {
  check(false, "package check", error instanceof Error ? error.stack : String(error));
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
