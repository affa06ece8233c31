// What each command loads (issue 21): the bin runs the CLI's bundle (scripts/build-cli.mjs), a command
// only the chunks it needs; `images` stays on tree-sitter, without the referee parser or the App's
// dependencies; `plan` proves its edits with the referee loaded in its own thread, not in the command's.
// Modules are recorded by a preload (test/helpers/loaded-modules.mjs) in the real bin.
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { GitFixture } from "../core/git-fixture.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

const bin = path.resolve("bin/nomad-gitops-bot");
const preload = path.resolve("test/helpers/loaded-modules.mjs");
let tmp: string;
let registry: TestRegistry;
let repo: GitFixture;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-startup-"));
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/**
 * Runs the bin and returns its exit code, output, the packages it loaded (in its main thread) and the
 * project's own files it loaded (paths from the repository's root).
 */
async function loaded(name: string, args: string[], cwd = process.cwd()) {
  const file = path.join(tmp, `${name}.txt`);
  const run = await execa(process.execPath, ["--import", preload, bin, ...args], {
    cwd,
    reject: false,
    env: { LOADED_MODULES_FILE: file },
  });
  const text = await readFile(file, "utf8");
  const packages = new Set([...text.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]!));
  const root = `${process.cwd()}${path.sep}`;
  const files = new Set(
    text
      .split("\n")
      .map((line) => (line.startsWith("file:") ? fileURLToPath(line) : line))
      .filter((file) => file.startsWith(root) && !file.includes(`${path.sep}node_modules${path.sep}`))
      .map((file) => path.relative(root, file).split(path.sep).join("/")),
  );
  // Worker threads started, by the file each loads (the preload records them as `worker:NAME`).
  const workers = [...text.matchAll(/^worker:(.*)$/gm)].map((m) => m[1]!);
  return { ...run, packages, files, workers };
}

const APP_ONLY = ["hcl2-parser", "probot", "ioredis", "@sigstore/verify", "@sigstore/core"];

describe("start-up", () => {
  it("the bin runs the CLI's bundle, and --version loads fewer of its chunks than images, no package", async () => {
    const { version } = z
      .object({ version: z.string() })
      .parse(JSON.parse(await readFile("package.json", "utf8")));
    const printed = await loaded("version", ["--version"]);
    // The bundle carries the version it was built from (src/version.ts reads package.json beside it).
    expect(printed.stdout).toBe(version);
    expect(printed.packages).toEqual(new Set());
    const images = await loaded("images-chunks", ["images", "test/fixtures/nomad/crlf-tabs.nomad.hcl"]);
    expect(images.exitCode).toBe(0);
    for (const run of [printed, images]) {
      const outside = [...run.files].filter(
        (f) => f !== "bin/nomad-gitops-bot" && !f.startsWith("dist/cli-bundle/"),
      );
      expect(outside).toEqual([]);
      expect(run.files).toContain("dist/cli-bundle/main.js");
    }
    // Split, not one file: images' parser and reader are chunks that --version never loads.
    const imagesOnly = [...images.files].filter((f) => !printed.files.has(f));
    expect(imagesOnly.length).toBeGreaterThan(0);
    expect(printed.files.size).toBeLessThan(images.files.size);
  });

  it("images loads tree-sitter and no referee parser, sigstore, probot or redis", async () => {
    const out = await loaded("images", ["images", "--json", "test/fixtures/nomad/crlf-tabs.nomad.hcl"]);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout).files[0].ok).toBe(true);
    expect(out.packages).toContain("web-tree-sitter");
    expect(APP_ONLY.filter((p) => out.packages.has(p))).toEqual([]);
    expect(out.workers).toEqual([]);
  });

  it("images --strict on one file asks the referee in the command's own thread (and nothing of the App)", async () => {
    const out = await loaded("images-strict", [
      "images",
      "--strict",
      "test/fixtures/nomad/crlf-tabs.nomad.hcl",
    ]);
    expect(out.exitCode).toBe(0);
    expect(out.packages).toContain("hcl2-parser");
    expect(APP_ONLY.filter((p) => p !== "hcl2-parser" && out.packages.has(p))).toEqual([]);
  });

  it("plan proves its edits with the referee loaded in a worker thread, not the command's", async () => {
    const sha = await repo.git("rev-parse", "HEAD");
    await repo.build(sha);
    const out = await loaded("plan", ["plan", "--json"], repo.dir);
    expect(out.stderr).toBe("");
    expect(out.exitCode).toBe(0);
    // Every service is new: each job file gets its first pin, which the referee proved.
    const plan = JSON.parse(out.stdout) as { files: string[] };
    expect(plan.files.filter((p) => p.startsWith("nomad/"))).toHaveLength(3);
    expect(out.packages).toContain("web-tree-sitter");
    expect(APP_ONLY.filter((p) => out.packages.has(p))).toEqual([]);
    // One referee thread: the early one had loaded, or a single successor replaced it.
    expect(out.workers.filter((w) => w === "hcl2-parser").length).toBeGreaterThanOrEqual(1);
  });

  it("plan starts the referee's thread at start-up, before any digest is found to have moved (Linux)", async () => {
    // A commit nothing was built from: no lookup finds a digest, so only the early start loads it.
    await repo.write("docs/early.md", "early\n");
    await repo.commit("docs: nothing to build");
    const out = await loaded("plan-nothing-built", ["plan", "--json"], repo.dir);
    const plan = JSON.parse(out.stdout) as { files: string[] };
    expect(plan.files).toEqual([]);
    expect(out.workers).toEqual(process.platform === "linux" ? ["hcl2-parser"] : []);
  });

  it("images --strict on one file compiles the referee with the code cache the run before saved", async () => {
    const cache = path.join(tmp, "code-cache");
    const images = (dir: string) =>
      execa(
        process.execPath,
        [bin, "images", "--strict", "--json", "test/fixtures/nomad/crlf-tabs.nomad.hcl"],
        { env: { NOMAD_GITOPS_BOT_CACHE_DIR: dir } },
      );
    const cold = await images(cache);
    // Where Node has a compile cache (22.1+), the bin keeps it beside, in its own folder.
    const [name, ...others] = (await readdir(cache)).filter((entry) => entry !== "node-compile-cache");
    expect(others).toEqual([]);
    expect(name).toMatch(/^hcl2-parser-[0-9a-f]{32}\.v8cache$/);
    const file = path.join(cache, name!);
    const saved = await stat(file);
    // V8 accepted it: a refused or damaged file would have been replaced (a new file, renamed over it).
    const warm = await images(cache);
    expect(warm.stdout).toBe(cold.stdout);
    expect((await stat(file)).ino).toBe(saved.ino);
    await writeFile(file, "damaged");
    expect((await images(cache)).stdout).toBe(cold.stdout);
    const replaced = await stat(file);
    expect(replaced.size).toBeGreaterThan(saved.size / 2);
    await images(cache);
    expect((await stat(file)).ino).toBe(replaced.ino);
    const off = await images("off");
    expect(off.stdout).toBe(cold.stdout);
    expect(JSON.parse(cold.stdout).files[0].ok).toBe(true);
  });

  it("the bin enables Node's compile cache in the cache directory where Node has one (22.1+), else nothing", async () => {
    const cache = path.join(tmp, "compile-cache");
    const nodeHasIt = "enableCompileCache" in (await import("node:module"));
    const help = await execa(process.execPath, [bin, "--help"], {
      env: { NOMAD_GITOPS_BOT_CACHE_DIR: cache },
    });
    expect(help.exitCode).toBe(0);
    const folder = path.join(cache, "node-compile-cache");
    expect(
      await stat(folder).then(
        () => true,
        () => false,
      ),
    ).toBe(nodeHasIt);
    if (nodeHasIt) expect((await readdir(folder, { recursive: true })).length).toBeGreaterThan(0);
  });
});
