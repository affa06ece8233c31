// V8's optimizing compiler tuned for a short run (src/tiering.ts): the flags per V8 line, that they are
// set (and valid: V8 prints an error for a flag it does not know) for the CLI's plan and apply and in
// the Action's bundle, and not for other commands, that flags given on node's command line win, and
// that a tuned process and one with V8's defaults (the App) keep one referee code cache each instead
// of rewriting each other's.
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shortRunFlags } from "../../src/tiering.js";

const bin = path.resolve("bin/nomad-gitops-bot");
const action = path.resolve("dist-action/index.js");
const tiering = pathToFileURL(path.resolve("dist/cli-bundle/tiering.js")).href;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-tiering-"));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** V8's code-cache tag in a fresh process after `script` (it covers the flags set). */
async function tagAfter(script: string, nodeArgs: string[] = []) {
  const run = await execa(process.execPath, [
    ...nodeArgs,
    "--input-type=module",
    "-e",
    `${script}\nconsole.log((await import("node:v8")).default.cachedDataVersionTag());`,
  ]);
  return { tag: run.stdout.split("\n").at(-1)!, stdout: run.stdout, stderr: run.stderr };
}

/** V8's code-cache tag when `entry` exits, recorded by a preload. */
async function tagAtExit(entry: string, args: string[], nodeArgs: string[] = []) {
  const file = path.join(tmp, `tag-${Math.random().toString(36).slice(2)}`);
  const preload = `import v8 from "node:v8"; import { writeFileSync } from "node:fs";
    process.on("exit", () => writeFileSync(${JSON.stringify(file)}, String(v8.cachedDataVersionTag())));`;
  const run = await execa(
    process.execPath,
    [...nodeArgs, "--import", `data:text/javascript,${encodeURIComponent(preload)}`, entry, ...args],
    { reject: false, env: { GITHUB_ACTIONS: "", INPUT_MODE: "" } },
  );
  return { tag: await readFile(file, "utf8"), stderr: run.stderr };
}

describe("flags for a short run", () => {
  it("per V8 line: the bytecode cap on 11 to 13, the interrupt budget on 11 only, nothing elsewhere", () => {
    expect(shortRunFlags("11.3.244.8-node.33")).toEqual([
      ["max-optimized-bytecode-size", 16384],
      ["interrupt-budget", 135168],
    ]);
    expect(shortRunFlags("12.4.254.21-node.57")).toEqual([["max-optimized-bytecode-size", 16384]]);
    expect(shortRunFlags("13.6.233.17-node.40")).toEqual([["max-optimized-bytecode-size", 16384]]);
    expect(shortRunFlags("10.2.154.26-node.31")).toEqual([]);
    expect(shortRunFlags("14.1.0.0")).toEqual([]);
  });

  it("are set, and known to this V8 (nothing printed); flags given on node's command line are kept", async () => {
    const defaults = await tagAfter("");
    const tuned = await tagAfter(
      `const { tuneForShortRun } = await import(${JSON.stringify(tiering)});\nconsole.log(JSON.stringify(tuneForShortRun()));`,
    );
    const expected = shortRunFlags().map(([name, value]) => `--${name}=${value}`);
    expect(expected.length).toBeGreaterThan(0); // this suite runs on Node 20 and 24
    expect(JSON.parse(tuned.stdout.split("\n")[0]!)).toEqual(expected);
    expect(tuned.stderr).toBe("");
    expect(tuned.tag).not.toBe(defaults.tag);

    const given = await tagAfter(
      `const { tuneForShortRun } = await import(${JSON.stringify(tiering)});\nconsole.log(JSON.stringify(tuneForShortRun()));`,
      ["--max-optimized-bytecode-size=30000"],
    );
    expect(JSON.parse(given.stdout.split("\n")[0]!)).toEqual(expected.slice(1));
  });

  it("the CLI's plan and apply and the Action's bundle run with them; other commands with V8's defaults", async () => {
    const flags = shortRunFlags().map(([name, value]) => `--${name}=${value}`);
    const expected = await tagAfter("", flags);
    const defaults = await tagAfter("");
    expect(defaults.tag).not.toBe(expected.tag);
    // A repository that is not there: each command fails at once, with the flags it ran with.
    const missing = path.join(tmp, "no-such-repo");
    for (const command of ["plan", "apply"]) {
      const run = await tagAtExit(bin, [command, "--repo", missing]);
      expect(run.tag, command).toBe(expected.tag);
      expect(run.stderr).not.toMatch(/unrecognized flag/);
    }
    // Changing flags costs Node's own modules their built-in code cache: a command that never reads
    // with the referee is not tuned.
    expect((await tagAtExit(bin, ["--version"])).tag).toBe(defaults.tag);
    expect((await tagAtExit(bin, ["images", path.join(tmp, "none.nomad.hcl")])).tag).toBe(defaults.tag);
    // The Action with no inputs fails at once (a clear error), after its entry has tuned V8.
    expect((await tagAtExit(action, [])).tag).toBe(expected.tag);
  });
});

describe("the referee's code cache beside another process's", () => {
  it("[fault:code-cache-other-flags] the CLI and a process with V8's defaults keep a file each and rewrite neither", async () => {
    const dir = path.join(tmp, "cache");
    const env = { NOMAD_GITOPS_BOT_CACHE_DIR: dir };
    const job = path.join(tmp, "web.nomad.hcl");
    await writeFile(
      job,
      `job "web" {\n  group "g" {\n    task "t" {\n      config {\n        image = "nginx:1.27"\n      }\n    }\n  }\n}\n`,
    );
    const parse = pathToFileURL(path.resolve("dist/jobfile/parse.js")).href;
    // The App's way to the referee: dist/, V8's default flags.
    const app = async () =>
      (
        await execa(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `const p = await import(${JSON.stringify(parse)}); p.prepareReferee(); await p.refereeRead(await (await import("node:fs/promises")).readFile(${JSON.stringify(job)}, "utf8")); console.log(p.refereeCodeCache().read); process.exit(0);`,
          ],
          { env },
        )
      ).stdout;
    // The CLI's plan reads with V8 tuned (src/tiering.ts): the same flags, given to node.
    const flags = shortRunFlags().map(([name, value]) => `--${name}=${value}`);
    const cli = async () => {
      const run = await execa(process.execPath, [...flags, bin, "images", "--strict", job], {
        env,
        reject: false,
      });
      expect(run.exitCode, run.stderr).toBe(0);
    };
    const files = async () => {
      const names = (await readdir(dir)).filter((f) => f.endsWith(".v8cache")).sort();
      return Promise.all(names.map(async (f) => [f, (await stat(path.join(dir, f))).mtimeMs] as const));
    };

    await cli();
    expect(await files()).toHaveLength(1);
    expect(await app()).toBe("none");
    const written = await files();
    expect(written).toHaveLength(2);
    // Each run again reads its own file and writes nothing: the same two files, untouched.
    await cli();
    expect(await app()).toBe("accepted");
    await cli();
    expect(await files()).toEqual(written);
  });
});
