// Rollout reports that say what Nomad did, against the stand-in behaving as Nomad's Job.Register
// (nomad/job_endpoint.go): an unchanged job keeps its version and gets no deployment; a check-and-set
// submit refused for a job that was purged or created meanwhile says so.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/nomad/client.js";
import { planIndexMarker, readPlanIndexes } from "../../src/nomad/preview-index.js";
import { planIndexesOf, planJobFiles } from "../../src/nomad/report.js";
import { type RolloutResult, reportRollouts } from "../../src/nomad/rollout.js";
import { followMergedRollouts } from "../../src/handlers/nomad.js";
import type { DeploymentsPort } from "../../src/core/ports.js";
import type { Octokit } from "../../src/github/types.js";
import { parseConfig } from "../../src/config/schema.js";
import { type NomadStandIn, startNomad } from "../helpers/nomad.js";

const TOKEN = "9a1b2c3d-secret-nomad-token-0000";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const IMAGE2 = `ghcr.io/acme/banana:2@${D2}`;
const jobFile = (digest: string) =>
  `job "banana" {\n  group "app" {\n    task "server" {\n      driver = "docker"\n      config {\n        image = "ghcr.io/acme/banana:2@${digest}"\n      }\n    }\n  }\n}\n`;
const files = [{ path: "nomad/banana.nomad.hcl", text: jobFile(D2) }];

let nomad: NomadStandIn | undefined;
afterEach(async () => {
  await nomad?.stop();
  nomad = undefined;
});

const client = (address: string) => new NomadClient({ address, token: TOKEN, timeoutMs: 2_000 });

function config(extra: Record<string, unknown> = {}) {
  const parsed = parseConfig({
    services: [{ name: "banana", image: "ghcr.io/acme/banana" }],
    nomad: { address: nomad!.address, submit: true, follow_minutes: 15, ...extra },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

/** GitHub's deployments in memory: what was created and every status posted. */
function deployments() {
  const statuses: Array<{ state: string; description: string }> = [];
  const port: DeploymentsPort = {
    create: async () => 901,
    status: async (_id, input) => void statuses.push(input),
    existing: async () => [],
    latest: async () => null,
    unfinished: async () => [],
  };
  return { port, statuses };
}

/** The preview the deploy run posts, then whatever happens in Nomad, then the merge's submit. */
async function previewThenMerge(between: () => void): Promise<RolloutResult> {
  const marker = planIndexMarker(planIndexesOf(await planJobFiles(client(nomad!.address), files)));
  between();
  const [r] = await reportRollouts({
    config: config(),
    client: client(nomad!.address),
    deployments: deployments().port,
    sha: "abc",
    files,
    previewIndexes: readPlanIndexes(`Deploy\n\n${marker}\n`),
  });
  return r!;
}

/** Whether the App would keep following these results after the webhook (it must not for a final one). */
function wouldFollow(rollouts: RolloutResult[]): boolean {
  return followMergedRollouts({
    octokit: {} as Octokit,
    coords: { owner: "acme", repo: "shop" },
    config: config(),
    rollouts,
    scheduler: {
      now: () => 0,
      sleep: async () => {},
      detach: () => {
        throw new Error("nothing should be followed");
      },
    },
    claims: { shared: false, claim: async () => true, release: async () => {} },
    log: { info: () => {}, warn: () => {} },
  });
}

describe("the stand-in registers as Nomad does", () => {
  it("keeps an unchanged job: same JobModifyIndex, same version, no deployment, a new evaluation with a larger index", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    const c = client(nomad.address);
    const first = await c.submit(await c.parse(jobFile(D2)), { enforceIndex: 19 });
    const before = await c.job("banana");
    const again = await c.submit(await c.parse(jobFile(D2)), { enforceIndex: first.JobModifyIndex });
    expect(again.JobModifyIndex).toBe(first.JobModifyIndex);
    expect(again.EvalID).not.toBe("");
    expect(again.EvalID).not.toBe(first.EvalID);
    expect(Number(again.Index)).toBeGreaterThan(again.JobModifyIndex);
    const after = await c.job("banana");
    expect([after?.Version, after?.JobModifyIndex]).toEqual([before?.Version, before?.JobModifyIndex]);
    expect(await c.latestDeployment("banana")).toBeNull();
  });

  it("refuses a check-and-set submit of a job that is gone with Nomad's words: job does not exist", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    nomad.purge("banana");
    const c = client(nomad.address);
    await expect(c.submit(await c.parse(jobFile(D2)), { enforceIndex: 19 })).rejects.toThrow(
      "Nomad answered 500: Enforcing job modify index 19: job does not exist (POST /v1/jobs)",
    );
  });
});

describe("rollout reports after a merge, when Nomad already had the job or lost it", () => {
  it("[fault:nomad-merged-job-already-running] the merged job is what the cluster runs (run by hand, preview re-run): success, already running, nothing left to follow", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "successful" },
    });
    // An operator runs the PR's job file by hand; that version made no deployment of its own, so the
    // job's latest deployment is an older version's, from before the index the merge submits with.
    nomad.run("banana", IMAGE2);
    const c = client(nomad.address);
    const index = (await c.job("banana"))!.JobModifyIndex!;
    expect((await c.latestDeployment("banana"))!.JobModifyIndex).toBeLessThan(index);

    const r = await previewThenMerge(() => {});
    expect([r.state, r.description]).toEqual([
      "success",
      "already running: Nomad kept v4 unchanged; no new deployment",
    ]);
    expect(r.submitIndex).toBe(index);
    expect(r.submitError).toBeUndefined();
    expect(wouldFollow([r])).toBe(false);
    // The job is as the operator left it.
    const job = await c.job("banana");
    expect([job?.Version, job?.JobModifyIndex]).toEqual([4, index]);
  });

  it("the merged job is what the cluster runs and that version has its deployment: its state, said to be unchanged", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    nomad.run("banana", IMAGE2, { deployment: "failed" });
    const r = await previewThenMerge(() => {});
    expect([r.state, r.description]).toEqual(["failure", expect.any(String)]);
    expect(r.description).toMatch(
      /^unchanged, Nomad already had this version: v4: Failed due to unhealthy allocations/,
    );
    expect(r.summary?.failures[0]?.events.join(" ")).toContain("Driver Failure");

    await nomad.stop();
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    nomad.run("banana", IMAGE2, { deployment: "successful" });
    const ok = await previewThenMerge(() => {});
    expect([ok.state, ok.description]).toEqual([
      "success",
      "unchanged, Nomad already had this version: v4: Deployment completed successfully (2/2 healthy)",
    ]);
  });

  it("[fault:nomad-job-purged-after-preview] a job purged between the PR's preview and the merge is reported as purged, not recreated", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "successful" },
    });
    const r = await previewThenMerge(() => nomad!.purge("banana"));
    expect(r.state).toBe("error");
    expect(r.submitError).toBe(
      "not submitted: the job was purged from Nomad after the PR's plan preview; nothing was recreated (Nomad answered 500: Enforcing job modify index 19: job does not exist (POST /v1/jobs))",
    );
    expect(r.description).toBe(`${r.submitError!.slice(0, 139)}…`);
    expect(await client(nomad.address).job("banana")).toBeNull();
  });

  it("a job created in Nomad between the preview (no such job) and the merge is reported as created, not overwritten", async () => {
    nomad = await startNomad({ token: TOKEN });
    const r = await previewThenMerge(() => nomad!.run("banana", `ghcr.io/acme/banana:1@${D1}`));
    expect(r.state).toBe("error");
    expect(r.submitError).toBe(
      "not submitted: the job was created in Nomad after the PR's plan preview; it was not overwritten (Nomad answered 500: Enforcing job modify index 0: job already exists (POST /v1/jobs))",
    );
    expect(JSON.stringify(await client(nomad.address).job("banana"))).toContain(D1);
  });
});
