// `images` checks files with tree-sitter and the rules HashiCorp's parser adds to the grammar; with
// --strict it also asks that parser (the referee every edit is proven with).
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

async function images(...argv: string[]) {
  const cap = captureIO();
  const code = await main(["images", "--json", ...argv], cap.io);
  const out = JSON.parse(cap.stdout) as { files: Array<{ ok: boolean; error?: string }> };
  return { code, files: out.files };
}

describe("images --strict", () => {
  it("without --strict: an attribute set twice is refused with its line, by the rule", async () => {
    const out = await images(path.join(dir, "twice.nomad.hcl"));
    expect(out.code).toBe(1);
    expect(out.files[0]).toMatchObject({
      ok: false,
      error: `line 5: not valid HCL2: attribute "driver" is set twice`,
    });
  });

  it("with --strict: what only HashiCorp's parser refuses is refused too", async () => {
    const out = await images(
      "--strict",
      path.join(dir, "one-line.nomad.hcl"),
      path.join(dir, "twice.nomad.hcl"),
    );
    expect(out.code).toBe(1);
    expect(out.files.map((f) => [f.ok, f.error])).toEqual([
      [false, "not valid HCL2: rejected by HashiCorp's HCL parser (hcl2-parser), which does not say where"],
      [false, `line 5: not valid HCL2: attribute "driver" is set twice`],
    ]);
  });
});
