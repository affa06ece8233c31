// `plan --json` with independent builders: a real git checkout whose remote is on github.com, images in
// the real local registry, GitHub's attestations API replaced in-process by nock (exact paths, nothing
// left pending) serving bundles signed for real by the test Sigstore instance and by a builder's key.
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture, type ServiceName } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  buildClaims,
  builderKey,
  provenanceStatement,
  signBundle,
  signWithKey,
  testInstance,
  type TestInstance,
} from "../helpers/sigstore.js";

const uri = (file: string) => `https://github.com/acme/platform/.github/workflows/${file}@refs/heads/main`;
const nix = builderKey();
let registry: TestRegistry;
let instance: TestInstance;
let repo: GitFixture;
let sha: string;
let built: Record<ServiceName, string>;

beforeAll(async () => {
  [registry, instance] = await Promise.all([startRegistry(), testInstance()]);
  repo = await GitFixture.create(registry.host, registry.directHost);
  await repo.git("remote", "add", "origin", "https://github.com/acme/platform.git");
  const config = await repo.read(".github/nomad-gitops.yml");
  await repo.write(".github/sigstore-root.json", instance.trustedRoot);
  await repo.write(".github/keys/nix.pem", nix.pem);
  await repo.write(
    ".github/nomad-gitops.yml",
    `${config}build: { workflow: images.yml }
provenance:
  trusted_root: .github/sigstore-root.json
  builders:
    - { name: rebuild, workflow: rebuild.yml, runner: self-hosted, tag: "{sha}-rebuild" }
    - { name: nix, key: .github/keys/nix.pem, tag: "{sha}-nix" }
  not_reproducible: [mango]
`,
  );
  sha = await repo.commit("Two builders must agree");
  built = await repo.build(sha);
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});
beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

const keyless = (digest: string, file: string, overrides: Record<string, string> = {}) =>
  signBundle(instance, {
    claims: { ...buildClaims(), san: uri(file), "9": uri(file), "18": uri(file), "13": sha, ...overrides },
    statement: provenanceStatement(digest),
  });

/** GitHub's attestations API for one digest, asked once a run: the build's check and the builders' share it. */
function serve(digest: string, bundles: unknown[]) {
  nock("https://api.github.com")
    .get(`/repos/acme/platform/attestations/${encodeURIComponent(digest)}`)
    .query({ per_page: 100 })
    .reply(200, { attestations: bundles.map((bundle) => ({ bundle })) });
}

async function planJson() {
  const cap = captureIO({ cwd: repo.dir, env: { GITHUB_TOKEN: "ghp_test_token_for_nock_only" } });
  const code = await main(["plan", "--json"], cap.io);
  const plan = JSON.parse(cap.stdout) as {
    services: Array<{ name: string; status: string; reason?: string; agreement?: Record<string, unknown> }>;
    files: string[];
  };
  return { code, plan, byName: Object.fromEntries(plan.services.map((s) => [s.name, s])) };
}

describe("plan --json with provenance.builders", () => {
  it("[fault:builders-cli] carries each service's agreement: pinned at 2/2, awaiting the late builder, then pinned on the next run", async () => {
    const rebuilt = { "11": "self-hosted", "20": "workflow_run" };
    for (const s of ["banana", "kiwi"] as const)
      await pushTestImage(registry.directHost, `acme/${s}`, `${sha}-rebuild`, await repo.image(s));
    await pushTestImage(registry.directHost, "acme/banana", `${sha}-nix`, await repo.image("banana"));
    const banana = [
      await keyless(built.banana, "images.yml"),
      await keyless(built.banana, "rebuild.yml", rebuilt),
      signWithKey(nix.privateKey, "nix", provenanceStatement(built.banana)),
    ];
    const kiwi = [await keyless(built.kiwi, "images.yml"), await keyless(built.kiwi, "rebuild.yml", rebuilt)];
    serve(built.banana, banana);
    serve(built.kiwi, kiwi);
    serve(built.mango, [await keyless(built.mango, "images.yml")]);

    const first = await planJson();
    expect(first.code).toBe(0); // awaiting builders is "not yet", not a failure
    expect(first.byName.banana).toMatchObject({
      status: "new",
      agreement: { agreed: 2, needed: 2, of: 2, text: "2/2 (rebuild, nix)" },
    });
    expect(first.byName.kiwi).toMatchObject({
      status: "awaiting",
      reason: `awaiting builders (1/2, 2 needed): nix has not pushed ${sha}-nix`,
      agreement: { agreed: 1, of: 2 },
    });
    expect(first.byName.mango).toMatchObject({
      status: "new",
      reason: "not reproducible (provenance.not_reproducible): pinned from the main build alone",
    });
    expect(first.plan.files).toEqual(["nomad/banana.nomad.hcl", "nomad/mango.nomad.hcl", "RELEASES.md"]);

    // The late builder arrives: the next run pins kiwi.
    await pushTestImage(registry.directHost, "acme/kiwi", `${sha}-nix`, await repo.image("kiwi"));
    serve(built.banana, banana);
    serve(built.kiwi, [...kiwi, signWithKey(nix.privateKey, "nix", provenanceStatement(built.kiwi))]);
    serve(built.mango, [await keyless(built.mango, "images.yml")]);
    const second = await planJson();
    expect(second.code).toBe(0);
    expect(second.byName.kiwi).toMatchObject({ status: "new", agreement: { text: "2/2 (rebuild, nix)" } });
    expect(second.plan.files).toContain("nomad/kiwi.nomad.hcl");
  });
});
