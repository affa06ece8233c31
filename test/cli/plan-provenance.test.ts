// `plan --json` with `provenance:` required: without an attestation source the moved digests are not
// pinned and say why (fail closed); the exempt service is planned as before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture, SERVICES } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  const config = await repo.read(".github/nomad-gitops.yml");
  await repo.write(
    ".github/nomad-gitops.yml",
    `${config}build: { workflow: images.yml }\nprovenance: { exempt: [mango] }\n`,
  );
  await repo.commit("Require provenance");
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});

describe("plan --json with provenance required", () => {
  it("carries each verdict: unverified digests are not pinned, the exempt one is", async () => {
    const sha = await repo.git("rev-parse", "HEAD");
    await repo.build(sha);
    const cap = captureIO({ cwd: repo.dir, env: {} });
    const code = await main(["plan", "--json"], cap.io);
    const plan = JSON.parse(cap.stdout) as {
      counts: Record<string, number>;
      services: Array<{ name: string; status: string; reason?: string; provenance?: unknown }>;
      files: string[];
    };
    expect(code).toBe(1);
    expect(plan.services.map((s) => [s.name, s.status])).toEqual(
      SERVICES.map((s) => [s, s === "mango" ? "new" : "unverified"]),
    );
    const banana = plan.services.find((s) => s.name === "banana")!;
    expect(banana.reason).toBe(
      "attestations: provenance is required but this run has no way to look attestations up",
    );
    expect(banana.provenance).toMatchObject({ status: "unverified", check: "attestations" });
    expect(plan.counts).toMatchObject({ new: 1, unverified: 2 });
    expect(plan.files).toEqual(["nomad/mango.nomad.hcl", "RELEASES.md"]);
  });
});
