// `plan --json` with `provenance:` required: without an attestation source the moved digests are not
// pinned and say why (fail closed); the exempt service is planned as before. With GITHUB_TOKEN and a
// github.com remote, GitHub's attestations API (nock, exact paths) serves bundles signed for real by the
// test Sigstore instance: the verdict, its attester and the `gh attestation verify` command are in the
// JSON, and the text plan says it compactly.
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture, SERVICES } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { buildClaims, provenanceStatement, signBundle, testInstance } from "../helpers/sigstore.js";

let registry: TestRegistry;
let repo: GitFixture;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  const config = await repo.read(".github/nomad-gitops.yml");
  await repo.write(
    ".github/nomad-gitops.yml",
    `${config}build: { workflow: images.yml }\nprovenance: { exempt: [mango], trusted_root: .github/sigstore-root.json }\n`,
  );
  await repo.commit("Require provenance");
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  nock.enableNetConnect();
  expect(pending).toEqual([]);
});

type PlanJson = {
  counts: Record<string, number>;
  services: Array<{ name: string; status: string; reason?: string; provenance?: Record<string, unknown> }>;
  files: string[];
};

describe("plan --json with provenance required", () => {
  it("carries each verdict: unverified digests are not pinned, the exempt one is", async () => {
    const sha = await repo.git("rev-parse", "HEAD");
    await repo.build(sha);
    const cap = captureIO({ cwd: repo.dir, env: {} });
    const code = await main(["plan", "--json"], cap.io);
    const plan = JSON.parse(cap.stdout) as PlanJson;
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

  it("with GitHub's attestations: the verified verdict with who built it and the gh command; the text plan says it compactly", async () => {
    const instance = await testInstance();
    await repo.write(".github/sigstore-root.json", instance.trustedRoot);
    await repo.git("remote", "add", "origin", "https://github.com/acme/platform.git");
    const sha = await repo.commit("Trust the test Sigstore instance");
    const digests = await repo.build(sha);
    const claims = { ...buildClaims(), "13": sha };
    const bundles = {
      banana: await signBundle(instance, { claims, statement: provenanceStatement(digests.banana) }),
      // A pull request's build pushed kiwi's tag: attested, but not by the deploy branch's push.
      kiwi: await signBundle(instance, {
        claims: { ...claims, "20": "pull_request" },
        statement: provenanceStatement(digests.kiwi),
      }),
    };
    const serve = () => {
      nock.disableNetConnect();
      nock.enableNetConnect("127.0.0.1");
      for (const s of ["banana", "kiwi"] as const) {
        nock("https://api.github.com", { reqheaders: { authorization: /^(token|bearer) ghs_plan$/i } })
          .get(`/repos/acme/platform/attestations/${encodeURIComponent(digests[s])}`)
          .query({ per_page: "100" })
          .reply(200, { attestations: [{ bundle: bundles[s] }] });
      }
    };
    const env = { GITHUB_TOKEN: "ghs_plan", GITHUB_REF_NAME: "main" };
    serve();
    const cap = captureIO({ cwd: repo.dir, env });
    expect(await main(["plan", "--json"], cap.io)).toBe(1);
    const plan = JSON.parse(cap.stdout) as PlanJson;
    expect(plan.services.map((s) => [s.name, s.status])).toEqual([
      ["banana", "new"],
      ["kiwi", "unverified"],
      ["mango", "new"],
    ]);
    const [banana, kiwi, mango] = plan.services;
    const gh = (digest: string) => [
      "gh",
      "attestation",
      "verify",
      `oci://${registry.host}/acme/${digest === digests.banana ? "banana" : "kiwi"}@${digest}`,
      "--repo",
      "acme/platform",
      "--cert-identity",
      "https://github.com/acme/platform/.github/workflows/images.yml@refs/heads/main",
      "--source-ref",
      "refs/heads/main",
      "--source-digest",
      sha,
      "--deny-self-hosted-runners",
    ];
    expect(banana!.provenance).toEqual({
      status: "verified",
      digest: digests.banana,
      link: "https://github.com/acme/platform/actions/runs/42/attempts/1",
      signer: "https://github.com/acme/platform/.github/workflows/images.yml@refs/heads/main",
      root: ".github/sigstore-root.json",
      attester: {
        repository: "acme/platform",
        repositoryId: "123456789",
        workflow: "acme/platform/.github/workflows/images.yml@refs/heads/main",
        signer: "acme/platform/.github/workflows/images.yml@refs/heads/main",
        commit: sha,
        ref: "refs/heads/main",
        trigger: "push",
        runner: "github-hosted",
      },
      command: gh(digests.banana),
    });
    expect(kiwi!.provenance).toEqual({
      status: "unverified",
      digest: digests.kiwi,
      check: "trigger",
      reason: 'the build was triggered by "pull_request", allowed: push, workflow_dispatch',
      command: gh(digests.kiwi),
    });
    expect(mango!.provenance).toBeUndefined();

    serve();
    const text = captureIO({ cwd: repo.dir, env });
    expect(await main(["plan"], text.io)).toBe(1);
    const lines = text.stdout.split("\n");
    expect(lines.find((l) => l.includes("banana"))).toMatch(
      /banana +new +→ [0-9a-f]{12} +nomad\/banana\.nomad\.hcl; provenance verified \(run 42\)$/,
    );
    expect(lines.find((l) => l.includes("kiwi"))).toMatch(
      /kiwi +unverified +trigger: the build was triggered by "pull_request", allowed: push, workflow_dispatch$/,
    );
  });
});
