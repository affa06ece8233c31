// Independent builders must agree (provenance.builders, k of n): the pipeline against the real local
// registry, with bundles signed for real by the test Sigstore instance (keyless builders) or by a
// builder's own key; the attestations port stands in for GitHub's API. A disagreement is explained by
// the real explainer on the two images.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPlan } from "../../src/cli/deploy.js";
import { runDeploy } from "../../src/core/pipeline.js";
import type { AttestationsPort } from "../../src/core/provenance.js";
import { createExplainer } from "../../src/explain/index.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { MemoryRepo, NEW_SHA, OLD_SHA, config } from "./fixture.js";
import { type BuiltImage, buildImage, pushTestImage } from "../helpers/oci.js";
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

const REPO = "acme/platform";
const workflowUri = (file: string) => `https://github.com/${REPO}/.github/workflows/${file}@refs/heads/main`;

let registry: TestRegistry;
let instance: TestInstance;
const nix = builderKey();

beforeAll(async () => {
  [registry, instance] = await Promise.all([startRegistry(), testInstance()]);
});
afterAll(() => registry?.stop());

/** Bundles by digest, as GitHub's API and the referrers would list them; records what was asked. */
class Attestations implements AttestationsPort {
  readonly byDigest = new Map<string, unknown[]>();
  asked: string[] = [];
  add(digest: string, bundle: unknown) {
    this.byDigest.set(digest, [...(this.byDigest.get(digest) ?? []), bundle]);
  }
  async bundles(_image: string, digest: string) {
    this.asked.push(digest);
    return this.byDigest.get(digest) ?? [];
  }
}

/** A keyless attestation of `digest` by one of this repository's workflows, for the build commit. */
const attestation = (digest: string, file: string, overrides: Record<string, string> = {}) =>
  signBundle(instance, {
    claims: {
      ...buildClaims(),
      san: workflowUri(file),
      "9": workflowUri(file),
      "18": workflowUri(file),
      "13": NEW_SHA,
      "21": `https://github.com/${REPO}/actions/runs/${file.length}/attempts/1`,
      ...overrides,
    },
    statement: provenanceStatement(digest),
  });
const rebuildClaims = { "11": "self-hosted", "20": "workflow_run" };

const image = (name: string, version: string, mtime?: number) =>
  buildImage({
    layers: [{ "etc/os-release": "ID=fruit\n" }, { [`app/${name}`]: `${name} ${version}\n` }],
    ...(mtime ? { entryMeta: { [`app/${name}`]: { mtime } } } : {}),
  });

/** One service in its own repository: the old pin deployed, the build's image pushed and attested. */
async function service(
  name: string,
  attestations: Attestations,
): Promise<{ old: BuiltImage; next: BuiltImage }> {
  const old = image(name, "v1");
  const next = image(name, "v2");
  await pushTestImage(registry.directHost, `acme/${name}`, OLD_SHA, old);
  await pushTestImage(registry.directHost, `acme/${name}`, NEW_SHA, next);
  attestations.add(next.manifest.digest, await attestation(next.manifest.digest, "images.yml"));
  return { old, next };
}

const job = (name: string, pinned: BuiltImage) =>
  `job "${name}" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      config {\n        image = "${registry.host}/acme/${name}:${OLD_SHA}@${pinned.manifest.digest}"\n      }\n    }\n  }\n}\n`;

const settings = (names: string[], provenance: string) => `
build: { workflow: images.yml }
services:
${names.map((n) => `  - { name: ${n}, image: ${registry.host}/acme/${n} }`).join("\n")}
provenance:
  trusted_root: .github/sigstore-root.json
${provenance}`;

const BUILDERS = `  builders:
    - { name: rebuild, workflow: rebuild.yml, runner: self-hosted, tag: "{sha}-rebuild" }
    - { name: nix, key: .github/keys/nix.pem, tag: "{sha}-nix" }
`;

async function plan(names: Record<string, BuiltImage>, yaml: string, attestations: Attestations) {
  const files = new Map(Object.entries(names).map(([n, pin]) => [`nomad/${n}.nomad.hcl`, job(n, pin)]));
  files.set(".github/sigstore-root.json", instance.trustedRoot);
  files.set(".github/keys/nix.pem", nix.pem);
  files.set(".github/nomad-gitops.yml", yaml);
  const client = createRegistryClient();
  const before = registry.requests().length;
  const result = await runDeploy({
    config: config(yaml),
    build: { sha: NEW_SHA, branch: "main" },
    repo: new MemoryRepo(files, [
      { sha: OLD_SHA, subject: "v1", files: [] },
      { sha: NEW_SHA, subject: "v2", files: [] },
    ]),
    registry: client,
    explainer: createExplainer(client),
    mode: "plan",
    provenance: { port: attestations, repository: REPO, repositoryId: "123456789" },
  });
  const requests = registry
    .requests()
    .slice(before)
    .map((r) => `${r.method} ${r.path}`);
  return { result, requests, byName: Object.fromEntries(result.plan.services.map((s) => [s.name, s])) };
}

describe("independent builders (provenance.builders)", () => {
  it("[fault:builders-agree] pins a digest both builders rebuilt and attested, and asks nothing about unchanged services", async () => {
    const attestations = new Attestations();
    const { old, next } = await service("apple", attestations);
    const same = image("fig", "v1");
    await pushTestImage(registry.directHost, "acme/fig", OLD_SHA, same);
    await pushTestImage(registry.directHost, "acme/fig", NEW_SHA, same);
    await pushTestImage(registry.directHost, "acme/apple", `${NEW_SHA}-rebuild`, next);
    await pushTestImage(registry.directHost, "acme/apple", `${NEW_SHA}-nix`, next);
    const d = next.manifest.digest;
    attestations.add(d, await attestation(d, "rebuild.yml", rebuildClaims));
    attestations.add(d, signWithKey(nix.privateKey, "nix", provenanceStatement(d)));

    const { result, requests, byName } = await plan(
      { apple: old, fig: same },
      settings(["apple", "fig"], BUILDERS),
      attestations,
    );
    expect(byName.apple).toMatchObject({ status: "moved", agreement: { agreed: 2, needed: 2, of: 2 } });
    expect(byName.fig!.status).toBe("unchanged");
    expect(result.files.some((f) => f.after.includes(d))).toBe(true);
    expect(result.check.summary).toContain("builders agree 2/2 (rebuild, nix)");
    expect(formatPlan(result.plan)).toMatch(
      / apple +moved +\S+ → \S+ +nomad\/apple\.nomad\.hcl; provenance verified \(run \d+\); builders 2\/2 \(rebuild, nix\)\n/,
    );
    // One HEAD per builder for the moved service; none for the unchanged one; one attestation lookup.
    expect(requests.filter((r) => r.startsWith("HEAD") && /-(rebuild|nix)$/.test(r)).sort()).toEqual([
      `HEAD /v2/acme/apple/manifests/${NEW_SHA}-nix`,
      `HEAD /v2/acme/apple/manifests/${NEW_SHA}-rebuild`,
    ]);
    expect(requests.some((r) => r.includes("acme/fig") && /-(rebuild|nix)/.test(r))).toBe(false);
    // The build's check and the builders' share one lookup of d.
    expect(attestations.asked.filter((a) => a === d)).toHaveLength(1);
  });

  it("[fault:builders-disagree] refuses a digest a builder did not reproduce, with the explainer's finding as the reason", async () => {
    const attestations = new Attestations();
    const { old, next } = await service("plum", attestations);
    // The self-hosted rebuild stamped the build time into a file's mtime.
    const stamped = image("plum", "v2", 1_764_158_400);
    await pushTestImage(registry.directHost, "acme/plum", `${NEW_SHA}-rebuild`, stamped);
    await pushTestImage(registry.directHost, "acme/plum", `${NEW_SHA}-nix`, next);
    attestations.add(
      next.manifest.digest,
      signWithKey(nix.privateKey, "nix", provenanceStatement(next.manifest.digest)),
    );

    const { result, byName } = await plan({ plum: old }, settings(["plum"], BUILDERS), attestations);
    const plum = byName.plum!;
    expect(plum.status).toBe("unverified");
    expect(plum.reason).toMatch(/^builders disagree: rebuild built [0-9a-f]{12}, the build [0-9a-f]{12}: /);
    expect(plum.reason).toContain("1 file(s) differ only in mtime");
    expect(result.files.filter((f) => f.path.endsWith(".hcl"))).toEqual([]);
    expect(result.check.conclusion).toBe("failure");
    expect(result.comment).toContain("differ only in mtime");
    // One reading: the outcome first, then what the build's signature proves; never "verified" or
    // "builders agree" beside "builders disagree" as if they were the verdict.
    const row = result.check.summary.split("\n").find((l) => l.startsWith("| plum |")) ?? "";
    expect(row).toMatch(
      new RegExp(
        "^\\| plum \\| unverified \\(not pinned\\) \\| `[0-9a-f]{12}` → `[0-9a-f]{12}` \\| " +
          "not pinned: builders disagree: rebuild built [0-9a-f]{12}, the build [0-9a-f]{12}: 1 file\\(s\\) differ only in mtime; " +
          "agreed: 1/2 \\(nix\\); the build's own signature is verified: `acme/platform/\\.github/workflows/images\\.yml@refs/heads/main` " +
          "built \\[`2222222`\\]\\([^)]+\\) \\(push, github-hosted runner\\), \\[run \\d+\\]\\([^)]+\\) \\|$",
      ),
    );
    expect(row).not.toContain("; verified:");
    expect(row).not.toContain("builders agree");
    expect(formatPlan(result.plan)).toMatch(
      / plum +unverified +not pinned: builders disagree: rebuild built [0-9a-f]{12}, the build [0-9a-f]{12}: 1 file\(s\) differ only in mtime; agreed: 1\/2 \(nix\); the build's own provenance verified \(run \d+\)\n/,
    );
  });

  it("[fault:builders-awaiting] keeps the old pin while a builder is missing, then pins once its tag is pushed", async () => {
    const attestations = new Attestations();
    const { old, next } = await service("pear", attestations);
    const d = next.manifest.digest;
    await pushTestImage(registry.directHost, "acme/pear", `${NEW_SHA}-rebuild`, next);
    attestations.add(d, await attestation(d, "rebuild.yml", rebuildClaims));

    const first = await plan({ pear: old }, settings(["pear"], BUILDERS), attestations);
    expect(first.byName.pear).toMatchObject({
      status: "awaiting",
      reason: `awaiting builders (1/2, 2 needed): nix has not pushed ${NEW_SHA}-nix`,
    });
    expect(first.result.files.filter((f) => f.path.endsWith(".hcl"))).toEqual([]);
    expect(first.result.check.conclusion).toBe("neutral");
    expect(first.result.check.title).toContain("1 awaiting builders");
    expect(first.result.check.summary).toContain("| pear | awaiting builders (1/2) |");
    expect(first.result.comment).toContain(
      `- **pear** awaiting builders (1/2, 2 needed): nix has not pushed ${NEW_SHA}-nix`,
    );

    await pushTestImage(registry.directHost, "acme/pear", `${NEW_SHA}-nix`, next);
    attestations.add(d, signWithKey(nix.privateKey, "nix", provenanceStatement(d)));
    const second = await plan({ pear: old }, settings(["pear"], BUILDERS), attestations);
    expect(second.byName.pear).toMatchObject({ status: "moved", agreement: { agreed: 2, of: 2 } });
    expect(second.result.files.some((f) => f.after.includes(d))).toBe(true);
  });

  it("[fault:builders-k-of-n] pins with one of two builders when agree is 1, and a key with the wrong hint does not count", async () => {
    const attestations = new Attestations();
    const { old, next } = await service("lime", attestations);
    const d = next.manifest.digest;
    await pushTestImage(registry.directHost, "acme/lime", `${NEW_SHA}-nix`, next);
    attestations.add(d, signWithKey(nix.privateKey, "nix", provenanceStatement(d)));
    const { byName } = await plan({ lime: old }, settings(["lime"], `${BUILDERS}  agree: 1\n`), attestations);
    expect(byName.lime).toMatchObject({ status: "moved", agreement: { agreed: 1, needed: 1, of: 2 } });

    const other = new Attestations();
    const again = await service("lime", other);
    other.add(again.next.manifest.digest, signWithKey(nix.privateKey, "homelab", provenanceStatement(d)));
    const wrong = await plan({ lime: old }, settings(["lime"], `${BUILDERS}  agree: 1\n`), other);
    expect(wrong.byName.lime!.status).toBe("awaiting");
    expect(wrong.byName.lime!.reason).toContain(
      `nix: signature: signed with the key "homelab", expected "nix"`,
    );
  });

  it("[fault:builder-identity] does not count a builder whose attestation was signed by another workflow", async () => {
    const attestations = new Attestations();
    const { old, next } = await service("date", attestations);
    const d = next.manifest.digest;
    await pushTestImage(registry.directHost, "acme/date", `${NEW_SHA}-rebuild`, next);
    await pushTestImage(registry.directHost, "acme/date", `${NEW_SHA}-nix`, next);
    attestations.add(d, signWithKey(nix.privateKey, "nix", provenanceStatement(d)));
    // Pushed under the rebuild tag, but only the main build attested it: no rebuild.yml identity.
    const { byName } = await plan({ date: old }, settings(["date"], BUILDERS), attestations);
    expect(byName.date!.status).toBe("unverified");
    expect(byName.date!.reason).toBe(
      `builders: 1 of 2 agree, 2 needed: rebuild: workflow: signed by "${workflowUri("images.yml")}", expected ${workflowUri("rebuild.yml")} (best of 2 attestations)`,
    );
  });

  it("[fault:builders-not-reproducible] pins an allow-listed service from the main build alone, and says so", async () => {
    const attestations = new Attestations();
    const { old, next } = await service("quince", attestations);
    const { requests, byName } = await plan(
      { quince: old },
      settings(["quince"], `${BUILDERS}  not_reproducible: [quince]\n`),
      attestations,
    );
    expect(byName.quince).toMatchObject({
      status: "moved",
      reason: "not reproducible (provenance.not_reproducible): pinned from the main build alone",
      agreement: { notReproducible: true },
    });
    expect(byName.quince!.next!.digest).toBe(next.manifest.digest);
    expect(requests.some((r) => /-(rebuild|nix)$/.test(r))).toBe(false);
  });
});
