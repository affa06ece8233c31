// Real signals to the real CLI (compiled bin) in the middle of a skopeo push to an htpasswd registry:
// while skopeo runs, the credential is in no file, no argv and no environment; after SIGINT, SIGTERM or
// even SIGKILL, no file holding it is left in the temp directory and nothing secret was printed.
import { readFile, readdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, writeDockerArchive } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { PASSWORD, USER, authHome, leaks } from "../helpers/secrets.js";

const BIN = path.resolve(import.meta.dirname, "../../bin/nomad-gitops-bot");
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

describe("signals during a push", () => {
  it.each(["SIGINT", "SIGTERM", "SIGKILL"] as const)(
    "[fault:signal-during-push] %s while skopeo uploads: no credential file, argv or environment, and nothing printed",
    async (signal) => {
      const tmpdir = await mkdtemp(path.join(tmp, `tmpdir-${signal}-`));
      const repository = `acme/signals-${signal.toLowerCase()}`;
      let release!: () => void;
      const held = new Promise<undefined>((resolve) => (release = () => resolve(undefined)));
      const reached = new Promise<void>((resolve) => {
        registry.intercept({
          request: (req) => {
            if (req.method !== "PUT" || !req.path.startsWith(`/v2/${repository}/manifests/`))
              return undefined;
            resolve();
            return held;
          },
        });
      });
      const bot = execa(
        process.execPath,
        [BIN, "push", `docker-archive:${archive}`, `${registry.host}/${repository}:1`],
        {
          env: { ...home, TMPDIR: tmpdir, PATH: process.env.PATH! },
          extendEnv: false,
          reject: false,
        },
      );
      let skopeo: number | null = null;
      try {
        await reached;
        skopeo = await pidOf(`${repository}:1`);
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
});
