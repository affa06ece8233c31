// The referee's V8 code cache (src/code-cache.ts): a second load uses what the first saved, in the
// referee's thread and in this one; a damaged, refused, planted or unwritable cache only means a load
// without it; and the parser's readings are the same with a cache, without one and with it off.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OTHER_VERSIONS_KEPT, cacheDir } from "../../src/code-cache.js";

const valid = `job "a" {\n  group "g" {\n    task "t" {\n      config {\n        image = "nginx:1.27"\n      }\n    }\n  }\n}\n`;
// tree-sitter accepts this; HashiCorp's parser does not (two blocks on one line).
const rejected = `job "a" {\n  group "g" {\n    task "t" {\n      env { A = "x" } env { B = "y" }\n    }\n  }\n}\n`;
const fixtures = path.resolve("test/fixtures/nomad");
const texts = [
  valid,
  rejected,
  ...readdirSync(fixtures)
    .filter((f) => statSync(path.join(fixtures, f)).isFile())
    .map((f) => readFileSync(path.join(fixtures, f), "utf8")),
];

let tmp: string;
let dir: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "ngb-code-cache-"));
  dir = path.join(tmp, "cache");
  vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", dir);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh copy of the module, as a new process has: the parser is loaded once per module instance. */
async function freshParse() {
  vi.resetModules();
  return import("../../src/jobfile/parse.js");
}

type Parse = Awaited<ReturnType<typeof freshParse>>;
const inThread = async (parse: Parse) => texts.map((t) => parse.hcl2Object(t));
async function inReferee(parse: Parse) {
  parse.prepareReferee();
  const readings = [];
  for (const t of texts) readings.push(await parse.refereeRead(t));
  expect(parse.refereeState()).toBe("thread");
  return readings;
}

const cacheFiles = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".v8cache")) : []);

// Each referee thread is a new V8 isolate, as each process is. A second load in this thread would find
// the bundle in V8's own in-memory compilation cache and never look at the file (test/cli/startup.test.ts
// has this thread's loads, each in its own process).
describe("the code cache, in the referee's thread", () => {
  const read = inReferee;
  it("is written by the first load and accepted by the second, with the same readings", async () => {
    const first = await freshParse();
    const cold = await read(first);
    expect(first.refereeCodeCache()).toEqual({ read: "none", written: true });
    expect(cacheFiles()).toEqual([expect.stringMatching(/^hcl2-parser-[0-9a-f]{32}\.v8cache$/)]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const file = path.join(dir, cacheFiles()[0]!);
    const written = statSync(file).mtimeMs;

    const second = await freshParse();
    expect(await read(second)).toEqual(cold);
    expect(second.refereeCodeCache()).toEqual({ read: "accepted", written: false });
    expect(statSync(file).mtimeMs).toBe(written);

    vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", "off");
    const off = await freshParse();
    expect(await read(off)).toEqual(cold);
    expect(off.refereeCodeCache()).toEqual({ read: "off", written: false });
    expect(cold.slice(0, 2).map((r) => r.ok)).toEqual([true, false]);
  });

  it("[fault:code-cache-damaged] a truncated or damaged file is not given to V8, and is replaced", async () => {
    await read(await freshParse());
    const file = path.join(dir, cacheFiles()[0]!);
    const whole = readFileSync(file);
    for (const damaged of [whole.subarray(0, whole.length >> 1), flipByte(whole, whole.length >> 1)]) {
      writeFileSync(file, damaged);
      const parse = await freshParse();
      await read(parse);
      expect(parse.refereeCodeCache()).toEqual({ read: "none", written: true });
      expect(readFileSync(file).equals(damaged)).toBe(false);
      const again = await freshParse();
      await read(again);
      expect(again.refereeCodeCache()?.read).toBe("accepted");
    }
  });

  it("[fault:code-cache-rejected] bytecode V8 refuses (intact, but not its own) is compiled over and replaced", async () => {
    await read(await freshParse());
    const file = path.join(dir, cacheFiles()[0]!);
    const foreign = Buffer.alloc(4096, 7);
    writeFileSync(file, Buffer.concat([createHash("sha256").update(foreign).digest(), foreign]));
    const parse = await freshParse();
    const readings = await read(parse);
    expect(parse.refereeCodeCache()).toEqual({ read: "rejected", written: true });
    expect(readFileSync(file).length).toBeGreaterThan(foreign.length + 32);
    vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", "off");
    expect(readings).toEqual(await read(await freshParse()));
  });

  it("[fault:code-cache-unwritable] a directory that cannot be made: the parser loads without a cache", async () => {
    writeFileSync(path.join(tmp, "a-file"), "");
    vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", path.join(tmp, "a-file", "cache"));
    const parse = await freshParse();
    const readings = await read(parse);
    expect(parse.refereeCodeCache()).toEqual({ read: "off", written: false });
    vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", "off");
    expect(readings).toEqual(await read(await freshParse()));
  });

  it("[fault:code-cache-shared-dir] a directory others may write is neither read nor written", async () => {
    await read(await freshParse());
    const planted = readFileSync(path.join(dir, cacheFiles()[0]!));
    chmodSync(dir, 0o777);
    const parse = await freshParse();
    await read(parse);
    expect(parse.refereeCodeCache()).toEqual({ read: "off", written: false });
    expect(readFileSync(path.join(dir, cacheFiles()[0]!)).equals(planted)).toBe(true);
  });
});

describe("the code cache, in this thread", () => {
  it("is written after the first reading, which is the reading without it", async () => {
    const parse = await freshParse();
    const readings = await inThread(parse);
    expect(parse.refereeCodeCache()).toEqual({ read: "none", written: true });
    expect(cacheFiles()).toHaveLength(1);
    vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", "off");
    const off = await freshParse();
    expect(await inThread(off)).toEqual(readings);
    expect(off.refereeCodeCache()).toEqual({ read: "off", written: false });
  });
});

describe("the cache directory", () => {
  it("is the setting, else XDG's cache home, else ~/.cache; off or nowhere: none", () => {
    const home = os.homedir();
    expect(cacheDir({ NOMAD_GITOPS_BOT_CACHE_DIR: "/var/cache/ngb", XDG_CACHE_HOME: "/x" })).toBe(
      "/var/cache/ngb",
    );
    expect(cacheDir({ NOMAD_GITOPS_BOT_CACHE_DIR: "off", XDG_CACHE_HOME: "/x" })).toBeUndefined();
    expect(cacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/nomad-gitops-bot");
    // The XDG spec: a relative XDG_CACHE_HOME is ignored.
    expect(cacheDir({ XDG_CACHE_HOME: "x" })).toBe(path.join(home, ".cache", "nomad-gitops-bot"));
    expect(cacheDir({})).toBe(path.join(home, ".cache", "nomad-gitops-bot"));
  });

  it("is created private (0700), with its parents", async () => {
    const nested = path.join(tmp, "a", "b");
    vi.stubEnv("NOMAD_GITOPS_BOT_CACHE_DIR", nested);
    const parse = await freshParse();
    await inReferee(parse);
    expect(parse.refereeCodeCache()).toEqual({ read: "none", written: true });
    expect(statSync(nested).mode & 0o777).toBe(0o700);
  });

  it("[fault:code-cache-two-nodes] keeps other versions' recent files: two Node versions sharing it do not delete each other's", async () => {
    // Another Node's (or an older parser's) files, named as src/code-cache.ts names them, oldest first.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const others = ["a", "b", "c", "d", "e"].map((c, i) => {
      const name = `hcl2-parser-${c.repeat(32)}.v8cache`;
      writeFileSync(path.join(dir, name), "x");
      utimesSync(path.join(dir, name), 1_000_000 + i, 1_000_000 + i);
      return name;
    });
    writeFileSync(path.join(dir, "other-parser-0123.v8cache"), "y");
    const parse = await freshParse();
    await inReferee(parse);
    expect(parse.refereeCodeCache()).toEqual({ read: "none", written: true });
    const mine = cacheFiles().filter((f) => !others.includes(f) && f.startsWith("hcl2-parser-"));
    expect(mine).toHaveLength(1);
    // This Node's file, the OTHER_VERSIONS_KEPT most recent others; the oldest go, other names stay.
    expect(cacheFiles().sort()).toEqual(
      [...mine, ...others.slice(-OTHER_VERSIONS_KEPT), "other-parser-0123.v8cache"].sort(),
    );
    // The next load (the other Node's run, in real life) still finds this one's file.
    const again = await freshParse();
    await inReferee(again);
    expect(again.refereeCodeCache()?.read).toBe("accepted");
  });
});

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}
