// The referee parser in its own thread (prepareReferee): the same reading as in this thread, and when
// the thread cannot load the parser, every read is still answered, here.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
    const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-referee-"));
    const broken = path.join(dir, "hcl2-parser.js");
    await writeFile(broken, 'throw new Error("this parser does not load");\n');
    parse.prepareReferee(broken);
    expect(parse.refereeState()).toBe("thread");
    const answers = [await parse.refereeRead(valid), await parse.refereeRead(rejected)];
    parse.clearParseCache();
    expect(answers).toEqual([parse.hcl2Object(valid), parse.hcl2Object(rejected)]);
    expect(answers.map((a) => a.ok)).toEqual([true, false]);
    await rm(dir, { recursive: true, force: true });
  });
});
