// Issue 14 with real images in the real registry, through `plan` and `apply`: a build whose only
// difference is the encoding (gzip header mtime/OS/level) keeps its pin, says so, and the pinned image
// gets the tags; a real config change moves; `compare: manifest` deploys every byte change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;
let first: string;
let pinned: Record<string, string>;

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};
const requests = () =>
  registry
    .requests()
    .map(
      (r) =>
        `${r.method} ${r.path.replace(/sha256:[0-9a-f]{64}/, "<digest>").replace(/[0-9a-f]{40}/, "<sha>")}`,
    )
    .sort();
const content = async (service: string) => ({
  layers: [{ "app/main.txt": await repo.read(`services/${service}/main.txt`) }],
});

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  first = await repo.git("rev-parse", "HEAD");
  pinned = await repo.build(first);
  expect((await run("apply")).code).toBe(0);
  await repo.commit("Pin the first build");
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});

describe("a build that only re-encodes the pinned image", () => {
  let sha: string;
  let reencoded: string;
  let changed: string;

  it("plans banana as unchanged (re-encoded), kiwi as moved, mango as unchanged", async () => {
    await repo.write("README.md", "docs only\n");
    sha = await repo.commit("Docs only");
    // banana: the same tar and config, gzip stamped with a build time and Unix as OS, level 9.
    const banana = buildImage({
      ...(await content("banana")),
      gzip: { mtime: 1_700_000_000, os: 3, level: 9 },
    });
    // kiwi: same files, but the config stamps the build time: a different config is a real change.
    const kiwi = buildImage({ ...(await content("kiwi")), created: "2026-11-29T12:00:00Z" });
    reencoded = await pushTestImage(registry.directHost, "acme/banana", sha, banana);
    changed = await pushTestImage(registry.directHost, "acme/kiwi", sha, kiwi);
    await pushTestImage(registry.directHost, "acme/mango", sha, buildImage(await content("mango")));
    expect(reencoded).not.toBe(pinned.banana);
    expect(banana.config.digest).toBe((await repo.image("banana")).config.digest);

    registry.clearRequests();
    const out = await run("plan", "--json");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; reencoded?: { digest: string; reason: string } }>;
    };
    expect(plan.services.map((s) => [s.name, s.status, s.reencoded?.digest ?? null])).toEqual([
      ["banana", "unchanged", reencoded],
      ["kiwi", "moved", null],
      ["mango", "unchanged", null],
    ]);
    expect(plan.services[0]!.reencoded!.reason).toBe(
      `same config ${banana.config.digest}, same content, manifest encoded differently`,
    );
    // 1 HEAD per service; each moved digest: 1 GET proving it, 1 GET of the pinned manifest to compare.
    // kiwi moved with no commit in its paths, so explain reads both configs (manifests come from cache).
    // kiwi's digest-only pin was committed under a message that records no build: the build tags of
    // the commit that pinned it (never built: a 404, whose message one GET reads) and of its parent
    // (the pinned digest) are asked.
    expect(requests()).toEqual(
      [
        "HEAD /v2/acme/banana/manifests/<sha>",
        "HEAD /v2/acme/kiwi/manifests/<sha>",
        "HEAD /v2/acme/kiwi/manifests/<sha>",
        "HEAD /v2/acme/kiwi/manifests/<sha>",
        "HEAD /v2/acme/mango/manifests/<sha>",
        "GET /v2/acme/banana/manifests/<sha>",
        "GET /v2/acme/banana/manifests/<digest>",
        "GET /v2/acme/kiwi/manifests/<sha>",
        "GET /v2/acme/kiwi/manifests/<sha>",
        "GET /v2/acme/kiwi/manifests/<digest>",
        "GET /v2/acme/kiwi/blobs/<digest>",
        "GET /v2/acme/kiwi/blobs/<digest>",
      ].sort(),
    );

    const text = await run("plan");
    expect(text.stdout).toContain("banana  unchanged (re-encoded)");
    expect(text.stdout).toContain("has the same content");
    expect(text.stdout).toContain("1 moved, 0 new, 2 unchanged (1 re-encoded)");
  });

  it("apply keeps banana's pin, gives the pinned image the build tag, and moves kiwi", async () => {
    const before = await repo.read("nomad/banana.nomad.hcl");
    const out = await run("apply", "--json");
    expect(out.code).toBe(0);
    expect(await repo.read("nomad/banana.nomad.hcl")).toBe(before);
    expect(await repo.read("nomad/kiwi.nomad.hcl")).toContain(`kiwi@${changed}"`);
    const result = JSON.parse(out.stdout) as {
      registry: Array<{ service: string; ref: string; tags?: string[] }>;
    };
    expect(result.registry.filter((a) => a.service === "banana")).toEqual([
      expect.objectContaining({
        action: "retag",
        ref: `${registry.host}/acme/banana@${pinned.banana}`,
        tags: [sha],
      }),
    ]);
    // The build tag now names what runs.
    const client = createRegistryClient({ env: {} });
    expect((await client.prove(`${registry.host}/acme/banana:${sha}`)).digest).toBe(pinned.banana);
  });

  it("with compare: manifest, the re-encoded build is deployed like any move", async () => {
    await repo.write("services/banana/notes.txt", "x\n");
    await repo.write(
      ".github/nomad-gitops.yml",
      `${await repo.read(".github/nomad-gitops.yml")}compare: manifest\n`,
    );
    const next = await repo.commit("compare by manifest");
    const banana = buildImage({ ...(await content("banana")), gzip: { mtime: 1_800_000_000 } });
    const digest = await pushTestImage(registry.directHost, "acme/banana", next, banana);
    registry.clearRequests();
    const out = await run("plan", "--json");
    const plan = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; new: { digest: string } }>;
    };
    expect(plan.services.find((s) => s.name === "banana")).toMatchObject({
      status: "moved",
      new: { digest },
    });
    // No comparison with the pin: 1 HEAD + 1 GET proving the digest. Its digest-only pin records no
    // build in a commit message: the build tags of the last commit touching its job file (never built:
    // HEAD 404 + the GET reading its message) and of that commit's parent (the pinned digest) are asked.
    expect(requests().filter((r) => r.includes("/banana/"))).toEqual([
      "GET /v2/acme/banana/manifests/<sha>",
      "GET /v2/acme/banana/manifests/<sha>",
      "HEAD /v2/acme/banana/manifests/<sha>",
      "HEAD /v2/acme/banana/manifests/<sha>",
      "HEAD /v2/acme/banana/manifests/<sha>",
    ]);
  });
});
