// `verify REF`: the digest read from a real registry, a bundle signed for real by the test Sigstore
// instance, its trusted root from a file; the same verdict the pipeline gives.
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  COMMIT,
  REPO,
  REPO_ID,
  buildClaims,
  provenanceStatement,
  signBundle,
  testInstance,
} from "../helpers/sigstore.js";

let registry: TestRegistry;
let dir: string;
const image = buildImage({ layers: [{ "etc/app": "cli-verify" }] });

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/api", "1.0", image);
  dir = await mkdtemp(path.join(os.tmpdir(), "ngb-verify-"));
  const instance = await testInstance();
  const good = await signBundle(instance, { statement: provenanceStatement(image.manifest.digest) });
  const pr = await signBundle(instance, {
    claims: { ...buildClaims(), "20": "pull_request" },
    statement: provenanceStatement(image.manifest.digest),
  });
  await writeFile(path.join(dir, "root.json"), instance.trustedRoot);
  await writeFile(path.join(dir, "good.jsonl"), `${JSON.stringify({ bundle: good })}\n`);
  await writeFile(path.join(dir, "pr.json"), JSON.stringify(pr));
});
afterAll(() => registry?.stop());

const args = (bundle: string, commit = COMMIT) => [
  "verify",
  `${registry.host}/acme/api:1.0`,
  "--repo",
  REPO,
  "--repository-id",
  REPO_ID,
  "--commit",
  commit,
  "--bundle",
  path.join(dir, bundle),
  "--trusted-root",
  path.join(dir, "root.json"),
];

describe("nomad-gitops-bot verify", () => {
  it("prints verified with the build run when the attestation binds the digest to the commit", async () => {
    const cap = captureIO();
    expect(await main(args("good.jsonl"), cap.io)).toBe(0);
    expect(cap.stdout).toBe(
      [
        `verified: ${REPO}/.github/workflows/images.yml@refs/heads/main built 9f8e7d6 (push, github-hosted runner), run 42 https://github.com/${REPO}/actions/runs/42/attempts/1`,
        `digest: ${image.manifest.digest}`,
        `check it yourself: gh attestation verify oci://${registry.host}/acme/api@${image.manifest.digest} --repo ${REPO} --cert-identity https://github.com/${REPO}/.github/workflows/images.yml@refs/heads/main --source-ref refs/heads/main --source-digest ${COMMIT} --deny-self-hosted-runners`,
        "",
      ].join("\n"),
    );
  });

  it("prints the failing check and exits 1 otherwise; --json carries the verdict", async () => {
    const cap = captureIO();
    expect(await main(args("good.jsonl", "1a2b3c4d5e6f00112233445566778899aabbccdd"), cap.io)).toBe(1);
    expect(cap.stdout.split("\n").slice(0, 2)).toEqual([
      "unverified: commit — source digest is 9f8e7d6, the build commit is 1a2b3c4",
      `digest: ${image.manifest.digest}`,
    ]);
    expect(cap.stdout).toContain("--source-digest 1a2b3c4d5e6f00112233445566778899aabbccdd");
    const json = captureIO();
    expect(await main([...args("pr.json"), "--json"], json.io)).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      status: "unverified",
      digest: image.manifest.digest,
      check: "trigger",
      reason: 'the build was triggered by "pull_request", allowed: push, workflow_dispatch',
      command: [
        "gh",
        "attestation",
        "verify",
        `oci://${registry.host}/acme/api@${image.manifest.digest}`,
        "--repo",
        REPO,
        "--cert-identity",
        `https://github.com/${REPO}/.github/workflows/images.yml@refs/heads/main`,
        "--source-ref",
        "refs/heads/main",
        "--source-digest",
        COMMIT,
        "--deny-self-hosted-runners",
      ],
    });
  });

  it("says what is missing (exit 2)", async () => {
    const cap = captureIO({ env: {} });
    expect(
      await main(["verify", `${registry.host}/acme/api:1.0`, "--repo", REPO, "--commit", COMMIT], cap.io),
    ).toBe(2);
    expect(cap.stderr).toContain("give --bundle FILE or set GITHUB_TOKEN to ask GitHub's attestations API");
  });
});
