// The signature check in a worker thread (src/provenance/thread.ts) must give the verdict the check in
// this thread gives, word for word, on real GitHub bundles: passing, failing the policy after the
// signature, and failing the signature itself (tampered, untimed, a CA generation missing).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseTrustedRoots,
  trustRoots,
  verifyAttestations,
  verifyAttestationsOffThread,
  type ProvenancePolicy,
} from "../../src/provenance/index.js";
import { signatureThread } from "../../src/provenance/thread.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/provenance/${name}`, import.meta.url), "utf8");

type Json = { verificationMaterial: Record<string, unknown>; dsseEnvelope: { payload: string } };
// github_provenance_demo 0.0.12: GitHub's instance (timestamps, no log).
const demo = JSON.parse(fixture("github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl")) as Json;
const DEMO_DIGEST = "sha256:ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b";
const demoPolicy: ProvenancePolicy = {
  repository: "actions/attest-demo",
  repositoryId: "763287532",
  workflow: "build-python.yml",
  ref: "refs/heads/main",
  commit: "a6c23b9806c593664f68637c8f9d45dfcf98b2db",
  triggers: ["workflow_dispatch"],
  runner: "github-hosted",
};
// sigstore-js 2.1.0: public-good (transparency log).
const npm = JSON.parse(fixture("sigstore-js-2.1.0-bundle.json")) as Json;
const NPM_DIGEST =
  "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";
const npmPolicy: ProvenancePolicy = {
  repository: "sigstore/sigstore-js",
  repositoryId: "495574555",
  workflow: "release.yml",
  ref: "refs/heads/main",
  commit: "26d16513386ffaa790b1c32f927544f1322e4194",
  triggers: ["push"],
  runner: "github-hosted",
};

const tamper = (bundle: Json): Json => {
  const copy = structuredClone(bundle);
  const statement = JSON.parse(Buffer.from(copy.dsseEnvelope.payload, "base64").toString("utf8"));
  statement.predicate.buildDefinition.externalParameters.workflow.ref = "refs/heads/evil";
  copy.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString("base64");
  return copy;
};
const untimed = (bundle: Json): Json => {
  const copy = structuredClone(bundle);
  delete copy.verificationMaterial.timestampVerificationData;
  return copy;
};
const withoutFirstCa = () => {
  const github = trustRoots().find((r) => r.json.certificateAuthorities[0]?.uri === "fulcio.githubapp.com")!;
  const json = structuredClone(github.json);
  json.certificateAuthorities.splice(0, 1);
  return parseTrustedRoots(JSON.stringify(json), "GitHub root without its 2023 CA");
};

describe("the signature thread", () => {
  it("runs where sigstore-js is a file to load, and answers with sigstore-js's own words", async () => {
    const thread = signatureThread();
    expect(thread).toBeDefined();
    const github = trustRoots()[1]!;
    const thresholds = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 };
    expect(await thread!.check(demo, github, thresholds)).toEqual({ ok: true });
    expect(await thread!.check(tamper(demo), github, thresholds)).toEqual({
      ok: false,
      message: "signature verification failed",
    });
  });

  it.each([
    ["the demo, right policy", [demo], DEMO_DIGEST, demoPolicy, trustRoots, "verified"],
    [
      "the demo, another commit",
      [demo],
      DEMO_DIGEST,
      { ...demoPolicy, commit: "9".repeat(40) },
      trustRoots,
      "commit",
    ],
    ["the demo, tampered", [tamper(demo)], DEMO_DIGEST, demoPolicy, trustRoots, "signature"],
    ["the demo, untimed", [untimed(demo)], DEMO_DIGEST, demoPolicy, trustRoots, "signature"],
    ["the demo, its CA generation missing", [demo], DEMO_DIGEST, demoPolicy, withoutFirstCa, "signature"],
    ["sigstore-js, right policy", [npm], NPM_DIGEST, npmPolicy, trustRoots, "verified"],
    ["sigstore-js, tampered", [tamper(npm)], NPM_DIGEST, npmPolicy, trustRoots, "signature"],
    ["sigstore-js, tampered then good", [tamper(npm), npm], NPM_DIGEST, npmPolicy, trustRoots, "verified"],
    ["no attestation", [], NPM_DIGEST, npmPolicy, trustRoots, "attestation"],
  ] as const)(
    "gives the same verdict as this thread: %s",
    async (_what, bundles, digest, policy, roots, outcome) => {
      const here = verifyAttestations(bundles, digest, policy, roots());
      const there = await verifyAttestationsOffThread(bundles, digest, policy, roots());
      expect(there).toEqual(here);
      expect(here.status === "verified" ? "verified" : here.check).toBe(outcome);
    },
  );
});
