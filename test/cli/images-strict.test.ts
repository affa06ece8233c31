// `images` checks with tree-sitter and the rules HashiCorp's parser adds to the grammar; with --strict it
// asks that parser (the referee every edit is proven with) as well.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { refereeState } from "../../src/jobfile/parse.js";
import { captureIO } from "../helpers/io.js";

let dir: string;
const job = (task: string) =>
  `job "a" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n${task}\n      config {\n        image = "nginx:1.27"\n      }\n    }\n  }\n}\n`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ngb-images-strict-"));
  await writeFile(path.join(dir, "twice.nomad.hcl"), job(`      driver = "podman"`));
  await writeFile(path.join(dir, "one-line.nomad.hcl"), job(`      env { A = "x" } env { B = "y" }`));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const TWO_BLOCKS =
  'block "env" is on the line where block "env" ends: a block must end with a line break after its "}"';

async function images(...argv: string[]) {
  const cap = captureIO();
  const code = await main(["images", "--json", ...argv], cap.io);
  const out = JSON.parse(cap.stdout) as { files: Array<{ ok: boolean; error?: string }> };
  return { code, files: out.files };
}

describe("images: the rules by default, --strict asks the referee too", () => {
  it("by default (and with --fast): what the rules catch is refused with its line (an attribute set twice, two blocks on one line)", async () => {
    const fast = await images("--fast", path.join(dir, "one-line.nomad.hcl"));
    expect(fast.files[0]!.error).toBe(`line 5: not valid HCL2: ${TWO_BLOCKS}`);
    const out = await images(path.join(dir, "twice.nomad.hcl"), path.join(dir, "one-line.nomad.hcl"));
    expect(out.code).toBe(1);
    expect(out.files.map((f) => [f.ok, f.error])).toEqual([
      [false, `line 5: not valid HCL2: attribute "driver" is set twice`],
      [false, `line 5: not valid HCL2: ${TWO_BLOCKS}`],
    ]);
    expect(refereeState()).toBe("not loaded");
  });

  it("where the two differ: hcl2-parser also refuses a value hashicorp/hcl reads as syntax (`=! 10`)", async () => {
    // scripts/fuzz-verdicts.ts found it: hashicorp/hcl parses `!10` and fails only when evaluating it.
    await writeFile(path.join(dir, "not-ten.nomad.hcl"), job(`      kill_timeout =! 10`));
    const rules = await images(path.join(dir, "not-ten.nomad.hcl"));
    expect(rules.files.map((f) => f.ok)).toEqual([true]);
    const strict = await images("--strict", path.join(dir, "not-ten.nomad.hcl"));
    expect(strict.files.map((f) => f.ok)).toEqual([false]);
  });

  it("--strict: the referee refuses too, and the rules say where", async () => {
    const out = await images(
      "--strict",
      path.join(dir, "one-line.nomad.hcl"),
      path.join(dir, "twice.nomad.hcl"),
    );
    expect(out.code).toBe(1);
    expect(out.files.map((f) => [f.ok, f.error])).toEqual([
      [false, `line 5: not valid HCL2: ${TWO_BLOCKS}`],
      [false, `line 5: not valid HCL2: attribute "driver" is set twice`],
    ]);
  });

  it("--strict, many files: the referee reads them in its own thread, and each verdict stays with its file, in order", async () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    for (const n of names)
      await writeFile(
        path.join(dir, `${n}.nomad.hcl`),
        n === "c" ? job(`      env { A = "x" } env { B = "y" }`) : job(""),
      );
    const out = await images("--strict", ...names.map((n) => path.join(dir, `${n}.nomad.hcl`)));
    expect(out.code).toBe(1);
    expect(out.files.map((f) => f.ok)).toEqual([true, true, false, true, true, true]);
  });
});
