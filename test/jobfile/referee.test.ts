// The referee parser in its own thread (prepareReferee): the same reading as in this thread, and when
// the thread cannot load the parser, every read is still answered, here.
import { readFile, readdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";

const valid = `job "a" {\n  group "g" {\n    task "t" {\n      config {\n        image = "nginx:1.27"\n      }\n    }\n  }\n}\n`;
// tree-sitter accepts this; HashiCorp's parser does not (two blocks on one line).
const rejected = `job "a" {\n  group "g" {\n    task "t" {\n      env { A = "x" } env { B = "y" }\n    }\n  }\n}\n`;

/** A fresh copy of the module: the referee's thread is started once per module instance. */
async function freshParse() {
  vi.resetModules();
  return import("../../src/jobfile/parse.js");
}

beforeEach(() => {
  vi.resetModules();
});

/** A parser file of the given source in a temporary directory (one that fails or never finishes loading). */
async function parserFile(source: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-referee-"));
  const file = path.join(dir, "hcl2-parser.js");
  await writeFile(file, source);
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

describe("the referee's thread", () => {
  it("reads every text as the parser in this thread does, rejections included", async () => {
    const parse = await freshParse();
    parse.prepareReferee();
    const fromThread = [await parse.refereeRead(valid), await parse.refereeRead(rejected)];
    parse.clearParseCache();
    expect(fromThread).toEqual([parse.hcl2Object(valid), parse.hcl2Object(rejected)]);
    expect(fromThread[0]).toMatchObject({ ok: true, value: { job: { a: [{ group: expect.anything() }] } } });
    expect(fromThread[1]).toEqual({ ok: false });
  });

  it("[fault:referee-thread-fails] a thread that cannot load the parser: reads are answered in this thread", async () => {
    const parse = await freshParse();
    const broken = await parserFile('throw new Error("this parser does not load");\n');
    parse.prepareReferee(broken.file);
    expect(parse.refereeState()).toBe("thread");
    const answers = [await parse.refereeRead(valid), await parse.refereeRead(rejected)];
    parse.clearParseCache();
    expect(answers).toEqual([parse.hcl2Object(valid), parse.hcl2Object(rejected)]);
    expect(answers.map((a) => a.ok)).toEqual([true, false]);
    await broken.remove();
  });

  it.skipIf(process.platform !== "linux")(
    "started early (CLI plan/apply), it runs at idle priority and, once loaded, proves edits itself",
    async () => {
      const parse = await freshParse();
      const before = await idleThreads();
      parse.prepareRefereeEarly();
      expect(parse.refereeState()).toBe("idle thread");
      expect(await parse.refereeLoaded()).toBe(true);
      expect((await idleThreads()) - before).toBe(1);
      const fromThread = [await parse.refereeRead(valid), await parse.refereeRead(rejected)];
      // Loaded, it was kept: no thread at normal priority took over.
      expect(parse.refereeState()).toBe("idle thread");
      parse.clearParseCache();
      expect(fromThread).toEqual([parse.hcl2Object(valid), parse.hcl2Object(rejected)]);
    },
  );

  it("[fault:referee-idle-starved] a proof never waits on an idle thread still loading: one at normal priority takes over", async () => {
    const parse = await freshParse();
    // A parser that never finishes loading stands for an idle thread starved by a busy machine.
    const starved = await parserFile("for (;;) {}\n");
    parse.prepareRefereeEarly(starved.file);
    // Read ahead (a moved digest) waits on nothing: the idle thread is only asked.
    parse.prefetchReferee(valid);
    // Elsewhere than Linux no thread starts early: the proof starts one, as the rest of this test shows.
    expect(parse.refereeState()).toBe(process.platform === "linux" ? "idle thread" : "thread");
    const idle = parse.refereeLoaded();
    // The proof replaces it, and the text it was asked to read ahead is read by its successor.
    const proofs = [await parse.refereeRead(valid), await parse.refereeRead(rejected)];
    if (process.platform === "linux") expect(await idle).toBe(false);
    // Not "this thread": no proof fell back to loading the parser here.
    expect(parse.refereeState()).toBe("thread");
    expect(await parse.refereeLoaded()).toBe(true);
    expect(proofs.map((p) => p.ok)).toEqual([true, false]);
    parse.clearParseCache();
    expect(proofs).toEqual([parse.hcl2Object(valid), parse.hcl2Object(rejected)]);
    await starved.remove();
  });

  it("is started early only on Linux, where a thread can be given idle priority", async () => {
    const parse = await freshParse();
    parse.prepareRefereeEarly();
    expect(parse.refereeState()).toBe(process.platform === "linux" ? "idle thread" : "not loaded");
    // Whatever started, the first proof is answered.
    expect((await parse.refereeRead(valid)).ok).toBe(true);
  });
});

/** Threads of this process at nice 19 (Linux: field 19 of /proc/self/task/TID/stat). */
async function idleThreads(): Promise<number> {
  let count = 0;
  for (const tid of await readdir("/proc/self/task")) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, "utf8").catch(() => "");
    // The command name (2nd field) is in parentheses and may hold spaces: count after its ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[16] === "19") count += 1;
  }
  return count;
}
