// Independent builders through the GitHub Action, run from its bundle as the runner runs it: the GitHub
// API stand-in serves the attestations endpoint to the workflow's token, the real registry holds each
// builder's tag (and the key builder's bundle under the referrers fallback tag), bundles signed for real.
// What a person sees: the step's exit code, outputs and summary, the check run, the deploy PR's files.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { workflowGrants } from "../helpers/github-api/permissions.js";
import { type RebuiltRepo, rebuiltRepo } from "../helpers/rebuilt-build.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type TestInstance, testInstance } from "../helpers/sigstore.js";
import { type ActionRun, buildActionBundle, runActionStep } from "./runner.js";

const TOKEN = "ghs_WorkflowTokenForBuildersScenario0123";
let api: GitHubStandIn;
let registry: TestRegistry;
let instance: TestInstance;
let work: string;
let entry: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-builders-"));
  const permissions = workflowGrants({
    contents: "write",
    "pull-requests": "write",
    checks: "write",
    issues: "write",
    actions: "write",
    deployments: "write",
    attestations: "read",
  });
  [api, registry, entry, instance] = await Promise.all([
    startGitHubApi({ tokens: { [TOKEN]: { login: "github-actions[bot]", permissions } } }),
    startRegistry(),
    buildActionBundle(work),
    testInstance(),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([api?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

type PlannedService = {
  name: string;
  status: string;
  reason?: string;
  agreement?: { agreed: number; of: number; text: string };
};
const servicesOf = (run: ActionRun) =>
  Object.fromEntries(
    (JSON.parse(run.outputs["plan-json"] ?? "{}") as { services: PlannedService[] }).services.map((s) => [
      s.name,
      s,
    ]),
  );
const step = (b: RebuiltRepo) =>
  runActionStep({ entry, api, token: TOKEN, repo: b.fullName, sha: b.sha, parent: work });
/** The check run of the step's workflow run (each run owns one). */
const checkOf = (b: RebuiltRepo, nth: number) =>
  api.repo(b.fullName).checkRuns.filter((c) => c.headSha === b.sha && c.name === "nomad-gitops")[nth]!;
const pinned = (b: RebuiltRepo, service: string) =>
  api.file(b.fullName, api.repo(b.fullName).pulls[0]!.head, `nomad/${service}.nomad.hcl`);

describe("the Action with provenance.builders", () => {
  it("[fault:builders-agree] pins what both builders reproduced, and says 2/2 in the summary and the check run", async () => {
    const b = await rebuiltRepo(api, registry, instance, {
      name: "agree",
      services: { depot: { rebuild: "same", nix: "same" } },
    });
    const run = await step(b);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs.moved).toBe("depot");
    expect(servicesOf(run).depot).toMatchObject({
      status: "moved",
      agreement: { agreed: 2, of: 2, text: "2/2 (rebuild, nix)" },
    });
    expect(run.summary).toMatch(/\| depot \| moved \|.*builders agree 2\/2 \(rebuild, nix\) \|/);
    expect(checkOf(b, 0)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(pinned(b, "depot")).toContain(`/acme/depot@${b.built.depot}"`);
  });

  it("[fault:builders-disagree] refuses what a builder did not reproduce, explains why, and fails the step", async () => {
    const b = await rebuiltRepo(api, registry, instance, {
      name: "disagree",
      services: { index: { rebuild: "same", nix: "stamped" }, relay: { rebuild: "same", nix: "same" } },
    });
    const run = await step(b);
    expect(run.exitCode).toBe(1);
    expect(run.outputs.moved).toBe("relay");
    const index = servicesOf(run).index!;
    expect(index.status).toBe("unverified");
    expect(index.reason).toMatch(
      /^builders disagree: nix built [0-9a-f]{12}, the build [0-9a-f]{12}: 1 file\(s\) differ only in mtime$/,
    );
    const row = run.summary.split("\n").find((l) => l.startsWith("| index |")) ?? "";
    expect(row).toContain(`| index | unverified (not pinned) |`);
    expect(row).toContain(index.reason);
    expect(checkOf(b, 0).conclusion).toBe("failure");
    expect(checkOf(b, 0).output.summary).toContain(index.reason);
    expect(pinned(b, "index")).toBe(b.jobFiles["nomad/index.nomad.hcl"]);
    expect(pinned(b, "relay")).toContain(`/acme/relay@${b.built.relay}"`);
  });

  it("[fault:builders-awaiting] [fault:builders-exit-status] a late builder: the step succeeds with the service awaiting and the check neutral; the next run pins it", async () => {
    const b = await rebuiltRepo(api, registry, instance, {
      name: "late",
      services: { vault: { rebuild: "same", nix: "late" } },
    });
    const first = await step(b);
    // Not yet is not a failure: exit 0, as the CLI's, and the check run is neutral.
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.outputs.moved).toBe("");
    const reason = `awaiting builders (1/2, 2 needed): nix has not pushed ${b.sha}-nix`;
    expect(servicesOf(first).vault).toMatchObject({ status: "awaiting", reason });
    expect(first.summary).toContain("| vault | awaiting builders (1/2) |");
    expect(checkOf(b, 0)).toMatchObject({ status: "completed", conclusion: "neutral" });
    expect(checkOf(b, 0).output.title).toContain("1 awaiting builders");
    // Nothing to pin yet: no deploy PR, the job file keeps its old pin.
    expect(api.repo(b.fullName).pulls).toHaveLength(0);
    expect(api.file(b.fullName, "main", "nomad/vault.nomad.hcl")).toContain(`@${b.old.vault}"`);

    await b.arrive("vault", "nix");
    const second = await step(b);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.outputs.moved).toBe("vault");
    expect(servicesOf(second).vault).toMatchObject({
      status: "moved",
      agreement: { text: "2/2 (rebuild, nix)" },
    });
    expect(checkOf(b, 1)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(pinned(b, "vault")).toContain(`/acme/vault@${b.built.vault}"`);
  });
});
