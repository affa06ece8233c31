// Verification of real signatures from a test Sigstore instance (test/helpers/sigstore.ts): one good
// bundle, then each policy field broken in the certificate or statement it was signed with.
import { beforeAll, describe, expect, it } from "vitest";
import {
  distinguishedName,
  parseTrustedRoots,
  publicGoodRoot,
  verifyAttestations,
  type ProvenancePolicy,
  type TrustRoot,
} from "../../src/provenance/index.js";
import {
  COMMIT,
  DIGEST,
  REPO,
  REPO_ID,
  WORKFLOW_URI,
  buildClaims,
  provenanceStatement,
  signBundle,
  testInstance,
  type TestInstance,
} from "../helpers/sigstore.js";

const policy: ProvenancePolicy = {
  repository: REPO,
  repositoryId: REPO_ID,
  workflow: "images.yml",
  ref: "refs/heads/main",
  commit: COMMIT,
  triggers: ["push", "workflow_dispatch"],
  runner: "github-hosted",
};
const RUN = `https://github.com/${REPO}/actions/runs/42/attempts/1`;

let instance: TestInstance;
let roots: TrustRoot[];
beforeAll(async () => {
  instance = await testInstance();
  roots = parseTrustedRoots(instance.trustedRoot, "test root");
});

const claims = (overrides: Record<string, string | undefined>) => ({ ...buildClaims(), ...overrides });
const unverified = (check: string, reason: string) => ({
  status: "unverified",
  digest: DIGEST,
  check,
  reason,
});

describe("a bundle signed for real by a test Sigstore instance", () => {
  it("verifies, with the run's URI as the link", async () => {
    const verdict = verifyAttestations([await signBundle(instance)], DIGEST, policy, roots);
    expect(verdict).toEqual({
      status: "verified",
      digest: DIGEST,
      link: RUN,
      signer: WORKFLOW_URI,
      root: "test root",
      attester: {
        repository: REPO,
        repositoryId: REPO_ID,
        workflow: `${REPO}/.github/workflows/images.yml@refs/heads/main`,
        signer: `${REPO}/.github/workflows/images.yml@refs/heads/main`,
        commit: COMMIT,
        ref: "refs/heads/main",
        trigger: "push",
        runner: "github-hosted",
      },
    });
  });

  it.each([
    [
      "another commit",
      { "13": "1a2b3c4d5e6f00112233445566778899aabbccdd" },
      unverified("commit", "source digest is 1a2b3c4, the build commit is 9f8e7d6"),
    ],
    [
      "another workflow",
      {
        san: WORKFLOW_URI.replace("images.yml", "pr-build.yml"),
        "9": WORKFLOW_URI.replace("images.yml", "pr-build.yml"),
      },
      unverified(
        "workflow",
        `signed by "${WORKFLOW_URI.replace("images.yml", "pr-build.yml")}", expected ${WORKFLOW_URI}`,
      ),
    ],
    [
      "a branch whose name starts like the deploy branch (anchored, not a regex)",
      { san: `${WORKFLOW_URI}-evil`, "9": `${WORKFLOW_URI}-evil`, "14": "refs/heads/main-evil" },
      unverified("workflow", `signed by "${WORKFLOW_URI}-evil", expected ${WORKFLOW_URI}`),
    ],
    [
      "a Build Signer URI that differs from the SAN",
      { "9": WORKFLOW_URI.replace("images.yml", "other.yml") },
      unverified(
        "workflow",
        `the Build Signer URI is "${WORKFLOW_URI.replace("images.yml", "other.yml")}", expected ${WORKFLOW_URI}`,
      ),
    ],
    [
      "another source ref",
      { "14": "refs/heads/feature" },
      unverified("ref", 'built from ref "refs/heads/feature", expected refs/heads/main'),
    ],
    [
      "a pull_request trigger",
      { "20": "pull_request" },
      unverified("trigger", 'the build was triggered by "pull_request", allowed: push, workflow_dispatch'),
    ],
    [
      "a self-hosted runner when github-hosted is required",
      { "11": "self-hosted" },
      unverified("runner", "the build ran on a self-hosted runner, github-hosted required"),
    ],
    [
      "another repository id (a repository recreated under the same name)",
      { "15": "987" },
      unverified("repository id", 'built from repository id "987", expected 123456789'),
    ],
    [
      "another repository",
      { "12": "https://github.com/mallory/platform" },
      unverified(
        "repository",
        'built from "https://github.com/mallory/platform", expected https://github.com/acme/platform',
      ),
    ],
    [
      "another OIDC issuer",
      { "8": "https://accounts.example.com" },
      unverified(
        "issuer",
        `the certificate's OIDC issuer is "https://accounts.example.com", not GitHub Actions (https://token.actions.githubusercontent.com)`,
      ),
    ],
    [
      "no Source Repository Digest at all",
      { "13": undefined },
      unverified("commit", "source digest is missing, the build commit is 9f8e7d6"),
    ],
  ])("is unverified when signed with %s", async (_what, overrides, expected) => {
    const bundle = await signBundle(instance, { claims: claims(overrides) });
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toEqual(expected);
  });

  it("is unverified when the statement is about another digest (the verifier does not check the subject)", async () => {
    const other = `sha256:${"cd".repeat(32)}`;
    const bundle = await signBundle(instance, { statement: provenanceStatement(other) });
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toEqual(
      unverified("subject", `the attestation is for sha256:cdcdcdcdcdcd, not ${DIGEST}`),
    );
  });

  it("is unverified when the predicate is not SLSA provenance v1", async () => {
    const statement = { ...provenanceStatement(), predicateType: "https://slsa.dev/provenance/v0.2" };
    const bundle = await signBundle(instance, { statement });
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toMatchObject({
      status: "unverified",
      check: "predicate",
    });
  });

  it("[fault:provenance-tampered] is unverified when the payload was changed after signing", async () => {
    const bundle = await signBundle(instance, {
      statement: provenanceStatement(`sha256:${"cd".repeat(32)}`),
    });
    const envelope = bundle.dsseEnvelope as { payload: string };
    envelope.payload = Buffer.from(JSON.stringify(provenanceStatement())).toString("base64");
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toEqual(
      unverified("signature", "signature verification failed (against test root)"),
    );
  });

  it("[fault:provenance-tampered] is unverified when a CA the root does not hold issued the certificate", async () => {
    const stranger = await testInstance(); // same names, other keys: only the signatures tell them apart
    const bundle = await signBundle(stranger);
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toMatchObject({
      status: "unverified",
      check: "signature",
      reason: expect.stringMatching(/^(certificate|timestamp).*\(against test root\)$/),
    });
    expect(verifyAttestations([bundle], DIGEST, policy, [publicGoodRoot()])).toMatchObject({
      status: "unverified",
      check: "certificate authority",
      reason: `the certificate's issuer "CN=sigstore, O=sigstore.mock" is a CA of no trusted root (${publicGoodRoot().name})`,
    });
  });

  it("names a certificate's issuer however long its name, and says so when it is not DER", () => {
    const cn = "x".repeat(200); // lengths past 127 take DER's long form
    const attribute = Buffer.concat([
      Buffer.from([0x30, 0x81, 208, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x81, 200]),
      Buffer.from(cn),
    ]);
    expect(distinguishedName(Buffer.concat([Buffer.from([0x31, 0x81, 211]), attribute]))).toBe(`CN=${cn}`);
    expect(distinguishedName(Buffer.from([0x31, 0x05]))).toBe("(a name that is not valid DER: 3105)");
  });

  it("is unverified without an RFC 3161 timestamp when the root keeps no transparency log", async () => {
    const bundle = await signBundle(instance);
    delete (bundle.verificationMaterial as Record<string, unknown>).timestampVerificationData;
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toEqual(
      unverified(
        "signature",
        "no RFC 3161 timestamp, which test root requires (it keeps no transparency log) (against test root)",
      ),
    );
  });

  it("reads the legacy raw extensions (.1.1–.1.6) but refuses a v2 extension that is not DER", async () => {
    const legacyClaims = claims({ "8": undefined, "13": undefined, "20": undefined });
    const legacy = { "1": "https://token.actions.githubusercontent.com", "2": "push", "3": COMMIT };
    const good = await signBundle(instance, { claims: legacyClaims, legacy });
    expect(verifyAttestations([good], DIGEST, policy, roots)).toMatchObject({ status: "verified" });
    const raw = await signBundle(instance, { claims: claims({ "13": undefined }), legacy: { "13": COMMIT } });
    expect(verifyAttestations([raw], DIGEST, policy, roots)).toEqual(
      unverified("certificate", "certificate extension 1.3.6.1.4.1.57264.1.13 is not valid DER"),
    );
  });

  it("accepts a reusable workflow as signer only when this repository's workflow called it", async () => {
    const shared = "https://github.com/acme/ci/.github/workflows/build.yml@refs/tags/v1";
    const reusable = { ...policy, signer: "acme/ci/.github/workflows/build.yml@refs/tags/v1" };
    const called = await signBundle(instance, { claims: claims({ san: shared, "9": shared }) });
    expect(verifyAttestations([called], DIGEST, reusable, roots)).toMatchObject({
      status: "verified",
      signer: shared,
      attester: {
        workflow: `${REPO}/.github/workflows/images.yml@refs/heads/main`,
        signer: "acme/ci/.github/workflows/build.yml@refs/tags/v1",
      },
    });
    expect(verifyAttestations([called], DIGEST, policy, roots)).toMatchObject({ check: "workflow" });
    const elsewhere = await signBundle(instance, {
      claims: claims({
        san: shared,
        "9": shared,
        "18": "https://github.com/mallory/x/.github/workflows/a.yml@refs/heads/main",
      }),
    });
    expect(verifyAttestations([elsewhere], DIGEST, reusable, roots)).toEqual(
      unverified(
        "workflow",
        `the calling workflow (Build Config URI) is "https://github.com/mallory/x/.github/workflows/a.yml@refs/heads/main", expected ${WORKFLOW_URI}`,
      ),
    );
  });

  it("needs one good attestation among several, and otherwise reports the one that got furthest", async () => {
    const good = await signBundle(instance);
    const pr = await signBundle(instance, { claims: claims({ "20": "pull_request" }) });
    expect(verifyAttestations([{ not: "a bundle" }, pr, good], DIGEST, policy, roots)).toMatchObject({
      status: "verified",
    });
    expect(verifyAttestations([{ not: "a bundle" }, pr], DIGEST, policy, roots)).toEqual(
      unverified(
        "trigger",
        'the build was triggered by "pull_request", allowed: push, workflow_dispatch (best of 2 attestations)',
      ),
    );
    expect(verifyAttestations([], DIGEST, policy, roots)).toEqual(
      unverified("attestation", `no attestation found for ${DIGEST}`),
    );
  });
});

describe("trusted roots", () => {
  it("reads one document or the JSON lines gh attestation trusted-root prints, and names what is wrong", () => {
    const lines = `${instance.trustedRoot}\n${JSON.stringify(publicGoodRoot().json)}\n`;
    expect(parseTrustedRoots(lines, "roots.jsonl").map((r) => r.name)).toEqual([
      "roots.jsonl line 1",
      "roots.jsonl line 2",
    ]);
    expect(() => parseTrustedRoots("{nope", "x.json")).toThrow("x.json: not JSON");
    expect(() => parseTrustedRoots('{"mediaType":"application/json"}', "x.json")).toThrow(
      /^x\.json: not a Sigstore trusted root \(mediaType: /,
    );
    expect(() => parseTrustedRoots("", "x.json")).toThrow("x.json: empty, expected a Sigstore trusted root");
  });
});
