// Real signals to the real CLI (compiled bin) in the middle of a skopeo push to an htpasswd registry:
// while skopeo runs, the credential is in no file, no argv and no environment; after SIGINT, SIGTERM or
// even SIGKILL, no file holding it is left in the temp directory and nothing secret was printed. The
// directory a SIGKILL leaves behind is removed by a later start once it is stale.
import { mkdir, mkdtemp, readFile, readdir, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, writeDockerArchive } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { PASSWORD, USER, authHome, leaks } from "../helpers/secrets.js";

const BIN = path.resolve(import.meta.dirname, "../../bin/nomad-gitops-bot");
// The tests' start-up cache directory (test/global-setup.ts), not this user's ~/.cache.
const CACHE = process.env.NOMAD_GITOPS_BOT_CACHE_DIR!;
let registry: TestRegistry;
let tmp: string;
let home: { HOME: string };
let archive: string;

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-signals-"));
  home = await authHome(path.join(tmp, "home"), registry.host);
  archive = await writeDockerArchive(
    path.join(tmp, "app.tar"),
    buildImage({ layers: [{ "etc/app": "signals" }, { "bin/app": "binary" }] }),
  );
});
afterAll(async () => {
  registry?.intercept(null);
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** Files under dir (recursively) whose bytes hold the credential in any of its forms. */
async function credentialFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const found: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    if (leaks(await readFile(file, "latin1")).length > 0) found.push(file);
  }
  return found;
}

/** The pid of the process whose command line holds `marker`, other than `except`. */
async function pidOf(marker: string): Promise<number | null> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.startsWith("skopeo\0") && cmdline.includes(marker)) return Number(entry);
  }
  return null;
}

/** What of the credential the process shows in its argv or environment. */
async function exposedBy(pid: number): Promise<string[]> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "latin1");
  const environ = await readFile(`/proc/${pid}/environ`, "latin1");
  return leaks(cmdline + environ);
}

const alive = (pid: number) =>
  readFile(`/proc/${pid}/stat`, "utf8").then(
    (stat) => !/^\d+ \(.*\) Z /.test(stat),
    () => false,
  );

async function gone(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await alive(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * The real CLI pushing to `acme/signals-<label>`, held by the registry at the manifest PUT (skopeo is
 * mid-push) until `release` is called; TMPDIR is a fresh directory of its own.
 */
async function heldPush(label: string) {
  const tmpdir = await mkdtemp(path.join(tmp, `tmpdir-${label}-`));
  const repository = `acme/signals-${label.toLowerCase()}`;
  let release!: () => void;
  const held = new Promise<undefined>((resolve) => (release = () => resolve(undefined)));
  const reached = new Promise<void>((resolve) => {
    registry.intercept({
      request: (req) => {
        if (req.method !== "PUT" || !req.path.startsWith(`/v2/${repository}/manifests/`)) return undefined;
        resolve();
        return held;
      },
    });
  });
  const bot = execa(
    process.execPath,
    [BIN, "push", `docker-archive:${archive}`, `${registry.host}/${repository}:1`],
    {
      env: { ...home, TMPDIR: tmpdir, PATH: process.env.PATH!, NOMAD_GITOPS_BOT_CACHE_DIR: CACHE },
      extendEnv: false,
      reject: false,
    },
  );
  await reached;
  return { tmpdir, bot, release, skopeo: await pidOf(`${repository}:1`) };
}

describe("signals during a push", () => {
  it.each(["SIGINT", "SIGTERM", "SIGKILL"] as const)(
    "[fault:signal-during-push] %s while skopeo uploads: no credential file, argv or environment, and nothing printed",
    async (signal) => {
      const { tmpdir, bot, release, skopeo } = await heldPush(signal);
      try {
        expect(skopeo).not.toBeNull();
        // Mid-push: the credential is on no disk, in no argv, in no environment.
        expect(await exposedBy(skopeo!)).toEqual([]);
        expect(await exposedBy(bot.pid!)).toEqual([]);
        expect(await credentialFiles(tmpdir)).toEqual([]);
        bot.kill(signal);
        const result = await bot;
        expect(result.signal ?? `exit ${result.exitCode}`).toBe(signal === "SIGINT" ? "SIGINT" : signal);
        expect(leaks(result.stdout + result.stderr)).toEqual([]);
        expect(await credentialFiles(tmpdir)).toEqual([]);
        // A catchable signal takes skopeo down with the bot; SIGKILL leaves it to finish alone.
        if (signal !== "SIGKILL") expect(await gone(skopeo!)).toBe(true);
      } finally {
        release();
        registry.intercept(null);
        if (skopeo !== null && !(await gone(skopeo, 5_000))) process.kill(skopeo, "SIGKILL");
      }
      expect(await credentialFiles(tmpdir)).toEqual([]);
    },
  );

  it("[fault:killed-temp-dir] SIGKILL mid-skopeo leaves its temp dir (at most skopeo's digest file); the next start removes it once stale, and nothing else", async () => {
    const { tmpdir, bot, release, skopeo } = await heldPush("leftover");
    try {
      expect(skopeo).not.toBeNull();
      bot.kill("SIGKILL");
      await bot;
    } finally {
      release();
      registry.intercept(null);
    }
    // skopeo ends alone (with its digest file written, or cut off by the closed pipes before); the killed bot
    // never removes the directory.
    expect(await gone(skopeo!)).toBe(true);
    const [leftover, ...others] = await readdir(tmpdir);
    expect(others).toEqual([]);
    expect(leftover).toMatch(/^nomad-gitops-skopeo-[A-Za-z0-9]{6}$/);
    expect((await readdir(path.join(tmpdir, leftover!))).filter((f) => f !== "digest")).toEqual([]);

    // Beside it: a live operation's directory (recent), and an old directory that is not the bot's kind.
    await mkdir(path.join(tmpdir, "nomad-gitops-index-Live01"));
    await mkdir(path.join(tmpdir, "nomad-gitops-demo-Keep01"));
    const run = () =>
      execa(process.execPath, [BIN, "--help"], {
        env: { TMPDIR: tmpdir, PATH: process.env.PATH!, NOMAD_GITOPS_BOT_CACHE_DIR: CACHE },
        extendEnv: false,
      });
    // Still recent: it could be a running push's, so a start leaves it.
    await run();
    expect((await readdir(tmpdir)).sort()).toEqual(
      [leftover!, "nomad-gitops-demo-Keep01", "nomad-gitops-index-Live01"].sort(),
    );
    const threeHoursAgo = new Date(Date.now() - 3 * 60 * 60_000);
    await utimes(path.join(tmpdir, leftover!), threeHoursAgo, threeHoursAgo);
    await utimes(path.join(tmpdir, "nomad-gitops-demo-Keep01"), threeHoursAgo, threeHoursAgo);
    await run();
    expect((await readdir(tmpdir)).sort()).toEqual(["nomad-gitops-demo-Keep01", "nomad-gitops-index-Live01"]);
  });
});
