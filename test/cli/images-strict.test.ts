// `images` asks HashiCorp's parser (the referee every edit is proven with) whether each file is valid;
// with --fast it checks with tree-sitter and the rules that parser adds to the grammar instead.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
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

describe("images: the referee by default, --fast without it", () => {
  it("--fast: what the rules catch is refused with its line (an attribute set twice, two blocks on one line)", async () => {
    const out = await images(
      "--fast",
      path.join(dir, "twice.nomad.hcl"),
      path.join(dir, "one-line.nomad.hcl"),
    );
    expect(out.code).toBe(1);
    expect(out.files.map((f) => [f.ok, f.error])).toEqual([
      [false, `line 5: not valid HCL2: attribute "driver" is set twice`],
      [false, `line 5: not valid HCL2: ${TWO_BLOCKS}`],
    ]);
  });

  it("by default (and with --strict): the referee refuses, and the rules say where", async () => {
    const strict = await images("--strict", path.join(dir, "one-line.nomad.hcl"));
    expect(strict.files[0]!.ok).toBe(false);
    const out = await images(path.join(dir, "one-line.nomad.hcl"), path.join(dir, "twice.nomad.hcl"));
    expect(out.code).toBe(1);
    expect(out.files.map((f) => [f.ok, f.error])).toEqual([
      [false, `line 5: not valid HCL2: ${TWO_BLOCKS}`],
      [false, `line 5: not valid HCL2: attribute "driver" is set twice`],
    ]);
  });

  it("many files: the referee reads them in its own thread, and each verdict stays with its file, in order", async () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    for (const n of names)
      await writeFile(
        path.join(dir, `${n}.nomad.hcl`),
        n === "c" ? job(`      env { A = "x" } env { B = "y" }`) : job(""),
      );
    const out = await images(...names.map((n) => path.join(dir, `${n}.nomad.hcl`)));
    expect(out.code).toBe(1);
    expect(out.files.map((f) => f.ok)).toEqual([true, true, false, true, true, true]);
  });
});
