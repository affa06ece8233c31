// The GitHub Action, run from its bundle as the runner runs it, in a repository that requires provenance:
// the GitHub API stand-in serves the attestations endpoint to the workflow's token, the real registry
// holds push-to-registry attestations under the fallback tag. The real build's digests are pinned; the
// tags a pull request's build pushed over them are refused; a token without `attestations: read` is
// reported as such.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attestedBuild } from "../helpers/attested-build.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { type Level, workflowGrants } from "../helpers/github-api/permissions.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type TestInstance, testInstance } from "../helpers/sigstore.js";
import { buildActionBundle, runActionStep } from "./runner.js";

/** The deploy workflow's `permissions:`, with and without `attestations: read`. */
const DEPLOY: Record<string, Level> = {
  contents: "write",
  "pull-requests": "write",
  checks: "write",
  issues: "write",
  actions: "write",
  deployments: "write",
};
const TOKEN = "ghs_WorkflowTokenWithAttestationsRead0123";
const LACKING = "ghs_WorkflowTokenWithoutAttestations01234";
let api: GitHubStandIn;
let registry: TestRegistry;
let instance: TestInstance;
let work: string;
let entry: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-provenance-"));
  const bot = "github-actions[bot]";
  [api, registry, entry, instance] = await Promise.all([
    startGitHubApi({
      tokens: {
        [TOKEN]: { login: bot, permissions: workflowGrants({ ...DEPLOY, attestations: "read" }) },
        [LACKING]: { login: bot, permissions: workflowGrants(DEPLOY) },
      },
    }),
    startRegistry(),
    buildActionBundle(work),
    testInstance(),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([api?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const planOf = (outputs: Record<string, string>) =>
  JSON.parse(outputs["plan-json"] ?? "{}") as {
    services: Array<{ name: string; status: string; reason?: string; new?: { digest: string } }>;
  };

describe("the Action with provenance required", () => {
  it("[fault:provenance-untrusted-build] pins the attested build, refuses the pull request build's tags, fails the step", async () => {
    const b = await attestedBuild(api, registry, instance, { name: "shop" });
    const run = await runActionStep({ entry, api, token: TOKEN, repo: b.fullName, sha: b.sha, parent: work });
    // Unverified services fail the step and the check run; the others still go to the deploy PR.
    expect(run.exitCode, run.stderr).not.toBe(0);
    expect(run.outputs.moved).toBe("api,web");
    const services = Object.fromEntries(planOf(run.outputs).services.map((s) => [s.name, s]));
    expect(services.api).toMatchObject({ status: "moved", new: { digest: b.built.api } });
    expect(services.web).toMatchObject({ status: "moved", new: { digest: b.built.web } });
    expect(services.worker).toMatchObject({
      status: "unverified",
      reason: `attestation: no attestation found for ${b.tagged.worker}`,
    });
    expect(services.cache?.status).toBe("unverified");
    expect(services.cache?.reason).toContain("images.yml@refs/pull/7/merge");

    const state = api.repo(b.fullName);
    const check = state.checkRuns.find((c) => c.headSha === b.sha && c.name === "nomad-gitops")!;
    expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
    const head = state.pulls[0]!.head;
    expect(api.file(b.fullName, head, "nomad/api.nomad.hcl")).toContain(`/acme/api@${b.built.api}"`);
    expect(api.file(b.fullName, head, "nomad/web.nomad.hcl")).toContain(`/acme/web@${b.built.web}"`);
    for (const s of ["worker", "cache"])
      expect(api.file(b.fullName, head, `nomad/${s}.nomad.hcl`)).toBe(b.jobFiles[`nomad/${s}.nomad.hcl`]);
    expect(run.summary).toMatch(/\| worker \| unverified \(not pinned\) \|/);
  });

  it("[fault:attestations-forbidden] says the workflow token lacks attestations: read, and pins nothing", async () => {
    const b = await attestedBuild(api, registry, instance, { name: "lacking" });
    const run = await runActionStep({
      entry,
      api,
      token: LACKING,
      repo: b.fullName,
      sha: b.sha,
      parent: work,
    });
    expect(run.exitCode).not.toBe(0);
    expect(run.outputs.moved).toBe("");
    const reasons = new Set(planOf(run.outputs).services.map((s) => `${s.status}: ${s.reason}`));
    expect([...reasons]).toEqual([
      "unverified: attestations: GitHub refused to list attestations (403): the App or token needs the `attestations: read` permission on acme/lacking",
    ]);
    expect(api.repo(b.fullName).pulls).toHaveLength(0);
    const asked = api.requests().filter((r) => r.repo === b.fullName && r.route.includes("/attestations/"));
    expect(asked.map((r) => r.status)).toEqual([403, 403, 403, 403]);
  });
});
