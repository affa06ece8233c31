// The referee (HashiCorp's parser) in a deploy (issue 21): it starts when a tag lookup first finds a
// digest that moved and reads that file ahead; a plan where nothing moved never loads it, and a file it
// rejects is still never edited when its reading came from the read-ahead.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRepo, NEW_SHA, TableRegistry, config, digest, fixtureFiles } from "./fixture.js";

const cfg = config(`
services:
  - { name: banana, image: ghcr.io/acme/platform/banana }
  - { name: kiwi, image: ghcr.io/acme/platform/kiwi }
`);

/** Fresh modules: the referee's thread and its remembered readings belong to one module instance. */
async function fresh() {
  vi.resetModules();
  const pipeline = await import("../../src/core/pipeline.js");
  const parse = await import("../../src/jobfile/parse.js");
  return { runDeploy: pipeline.runDeploy, parse };
}

const plan = (
  runDeploy: Awaited<ReturnType<typeof fresh>>["runDeploy"],
  files: Map<string, string>,
  kiwi: string,
) =>
  runDeploy({
    config: cfg,
    build: { sha: NEW_SHA, branch: "main" },
    repo: new MemoryRepo(files),
    registry: new TableRegistry({
      [`ghcr.io/acme/platform/banana:${NEW_SHA}`]: digest("a"),
      [`ghcr.io/acme/platform/kiwi:${NEW_SHA}`]: kiwi,
    }),
    mode: "plan",
  });

beforeEach(() => {
  vi.resetModules();
});

describe("the referee in a deploy", () => {
  it("is never loaded by a plan where no digest moved", async () => {
    const { runDeploy, parse } = await fresh();
    const result = await plan(runDeploy, fixtureFiles(), digest("b"));
    expect(result.plan.counts).toMatchObject({ moved: 0, unchanged: 2 });
    expect(result.files).toEqual([]);
    expect(parse.refereeState()).toBe("not loaded");
  });

  it("starts in its own thread when a digest moved, and the moved file's edit is proven", async () => {
    const { runDeploy, parse } = await fresh();
    const result = await plan(runDeploy, fixtureFiles(), digest("e"));
    expect(parse.refereeState()).toBe("thread");
    expect(result.plan.services.find((s) => s.name === "kiwi")?.status).toBe("moved");
    const kiwi = result.files.find((f) => f.path === "nomad/kiwi.nomad.hcl");
    expect(kiwi?.after).toContain(`@${digest("e")}`);
  });

  it("[fault:referee-rejects-read-ahead] a moved file only HashiCorp's parser rejects is not edited", async () => {
    const { runDeploy, parse } = await fresh();
    const files = fixtureFiles();
    const kiwi = files.get("nomad/kiwi.nomad.hcl")!;
    // tree-sitter accepts two blocks on one line; HashiCorp's parser does not.
    const rejected = kiwi.replace(
      'driver = "docker"',
      'driver = "docker"\n      env { A = "x" } env { B = "y" }',
    );
    expect(rejected).not.toBe(kiwi);
    files.set("nomad/kiwi.nomad.hcl", rejected);
    const result = await plan(runDeploy, files, digest("e"));
    // The file was read ahead in the thread: its verdict is remembered, and it is the referee's.
    expect(parse.refereeState()).toBe("thread");
    expect(await parse.refereeRead(rejected)).toEqual({ ok: false });
    const service = result.plan.services.find((s) => s.name === "kiwi");
    expect(service?.status).toBe("error");
    expect(service?.reason).toMatch(/nomad\/kiwi\.nomad\.hcl.*not valid HCL2/);
    expect(result.files.map((f) => f.path)).not.toContain("nomad/kiwi.nomad.hcl");
  });
});
