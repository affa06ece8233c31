// Issue 14 through `plan` and `apply`: a build that re-encodes the pinned image while the pinned
// manifest itself was deleted from the registry. Nothing is left to retag or to keep running from, so the
// new digest is a real move, and the plan says why it was not kept as a re-encoding.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;
let pinned: Record<string, string>;

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  pinned = await repo.build(await repo.git("rev-parse", "HEAD"));
  expect((await run("apply")).code).toBe(0);
  await repo.commit("Pin the first build");
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});

describe("a re-encoded build whose pinned manifest is gone", () => {
  let sha: string;
  let digest: string;
  const note = () =>
    `the pinned ${pinned.banana} is no longer in the registry: pinned the new digest although it may hold the same content`;

  it("plan: banana moved, with the reason it could not stay a re-encoding", async () => {
    const deleted = await fetch(`http://${registry.directHost}/v2/acme/banana/manifests/${pinned.banana}`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(202);
    await repo.write("README.md", "docs only\n");
    sha = await repo.commit("Docs only");
    const same = await repo.image("banana");
    const banana = buildImage({
      layers: [{ "app/main.txt": await repo.read("services/banana/main.txt") }],
      gzip: { mtime: 1_700_000_000, os: 3, level: 9 },
    });
    expect(banana.config.digest).toBe(same.config.digest);
    digest = await pushTestImage(registry.directHost, "acme/banana", sha, banana);
    await repo.push(sha, ["kiwi", "mango"]);

    registry.clearRequests();
    const json = await run("plan", "--json");
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as {
      services: Array<{ name: string; status: string; reason?: string; reencoded?: unknown }>;
    };
    expect(plan.services.map((s) => [s.name, s.status, s.reason ?? null])).toEqual([
      ["banana", "moved", note()],
      ["kiwi", "unchanged", null],
      ["mango", "unchanged", null],
    ]);
    expect(plan.services[0]!.reencoded).toBeUndefined();
    // The comparison asked for the pinned manifest once and got a 404 from the real registry; the
    // explainer, which looks at moves no commit accounts for, does not ask again for a pin known gone.
    expect(
      registry
        .requests()
        .filter((r) => r.path === `/v2/acme/banana/manifests/${pinned.banana}`)
        .map((r) => `${r.method} ${r.status}`),
    ).toEqual(["GET 404"]);

    const text = await run("plan");
    expect(text.stdout).toMatch(/ {2}banana {2}moved {6}[0-9a-f]{12} → [0-9a-f]{12} {2}the pinned sha256:/);
    expect(text.stdout).toContain(note());
    expect(text.stdout).toContain("1 moved, 0 new, 2 unchanged, 0 not built");
  });

  it("apply pins the new digest", async () => {
    const out = await run("apply", "--json");
    expect(out.code).toBe(0);
    expect(await repo.read("nomad/banana.nomad.hcl")).toContain(`banana@${digest}"`);
  });
});
