// After a deploy PR merges: optionally submit its job files to Nomad, then one GitHub Deployment per
// moved service with the status its Nomad deployment has at that moment. A webhook handler cannot wait
// for a rollout to finish, so a running rollout stays "in_progress" (see docs/nomad.md).
import type { Config } from "../config/schema.js";
import { discoverServices } from "../core/discovery.js";
import { findImages } from "../nomad/jobfile.js";
import { type NomadClient, describeNomadError } from "./client.js";
import { rolloutDescription } from "./render.js";
import {
  type PinnedSite,
  type RolloutState,
  type RolloutSummary,
  compareDrift,
  summarizeRollout,
} from "./summary.js";

export type RolloutPort = Pick<
  NomadClient,
  "namespace" | "parse" | "submit" | "job" | "latestDeployment" | "deploymentAllocations"
>;

/** GitHub's deployments API, as far as rollouts need it. */
export interface DeploymentsPort {
  create(input: {
    ref: string;
    environment: string;
    description: string;
    payload: Record<string, unknown>;
  }): Promise<number>;
  status(id: number, input: { state: RolloutState | "error"; description: string }): Promise<void>;
}

export interface RolloutResult {
  service: string;
  job: string;
  state: RolloutState | "error";
  description: string;
  /** GitHub deployment id. */
  deployment: number;
  summary?: RolloutSummary;
}

export interface RolloutInput {
  config: Config;
  client: RolloutPort;
  deployments: DeploymentsPort;
  /** The merge commit: the ref the GitHub deployments name. */
  sha: string;
  /** The merged PR's job files with their texts at `sha`. */
  files: ReadonlyArray<{ path: string; text: string }>;
}

interface Target {
  service: string;
  file: string;
  job: string;
  sites: PinnedSite[];
}

export async function reportRollouts(input: RolloutInput): Promise<RolloutResult[]> {
  const { config, client } = input;
  const scanned = await Promise.all(
    input.files.map(async (f) => ({ path: f.path, scan: await findImages(f.text) })),
  );
  const discovery = discoverServices(config, scanned);
  const targets: Target[] = [];
  for (const s of discovery.services) {
    const byJob = new Map<string, Target>();
    for (const site of s.sites) {
      if (site.job === null) continue;
      const t = byJob.get(site.job) ?? { service: s.name, file: site.file, job: site.job, sites: [] };
      t.sites.push({
        service: s.name,
        file: site.file,
        job: site.job,
        group: site.group,
        task: site.task,
        repository: s.image,
        digest: site.digest,
      });
      byJob.set(site.job, t);
    }
    targets.push(...byJob.values());
  }

  // nomad.submit: register each file once; the JobModifyIndex tells this version's deployment apart.
  const submitted = new Map<string, { index: number } | { error: string }>();
  if (config.nomad?.submit) {
    for (const file of input.files) {
      if (!targets.some((t) => t.file === file.path)) continue;
      try {
        const job = await client.parse(file.text);
        const out = await client.submit(job);
        submitted.set(file.path, { index: out.JobModifyIndex });
      } catch (error) {
        submitted.set(file.path, { error: `submit failed: ${describeNomadError(error)}` });
      }
    }
  }

  const environment = config.nomad?.environment ?? "production";
  const results: RolloutResult[] = [];
  for (const t of targets) {
    const found = await rolloutOf(client, t, submitted.get(t.file));
    const digest = t.sites.find((s) => s.digest)?.digest ?? null;
    const deployment = await input.deployments.create({
      ref: input.sha,
      environment,
      description: `${t.service} ${digest ? digest.slice(0, 19) : ""}`.trim(),
      payload: { service: t.service, job: t.job, namespace: client.namespace, digest },
    });
    await input.deployments.status(deployment, { state: found.state, description: found.description });
    results.push({ service: t.service, job: t.job, deployment, ...found });
  }
  return results;
}

async function rolloutOf(
  client: RolloutPort,
  target: Target,
  submit: { index: number } | { error: string } | undefined,
): Promise<Pick<RolloutResult, "state" | "description" | "summary">> {
  if (submit && "error" in submit) return { state: "error", description: clip(submit.error) };
  try {
    if (!submit) {
      // Someone else (a GitOps reconciler) submits: until the cluster's job names the pinned digest, the
      // latest deployment is an older version's.
      const running = await client.job(target.job);
      const drift = compareDrift(target.sites, new Map([[target.job, running]]));
      const waiting = drift.find((d) => d.status !== "same");
      if (waiting) {
        const why = running === null ? "job not in the cluster yet" : "cluster still runs another digest";
        return { state: "queued", description: clip(`waiting for Nomad to pick up the merge: ${why}`) };
      }
    }
    const deployment = await client.latestDeployment(target.job);
    const stale =
      submit && deployment !== null && typeof deployment.JobModifyIndex === "number"
        ? deployment.JobModifyIndex < submit.index
        : false;
    if (deployment === null || stale) {
      const summary = summarizeRollout(null, []);
      return { state: summary.state, description: summary.description, summary };
    }
    const allocations =
      deployment.Status === "failed" ? await client.deploymentAllocations(deployment.ID) : [];
    const summary = summarizeRollout(deployment, allocations);
    return { state: summary.state, description: rolloutDescription(summary), summary };
  } catch (error) {
    return { state: "error", description: clip(describeNomadError(error)) };
  }
}

const clip = (text: string) => (text.length > 140 ? `${text.slice(0, 139)}…` : text);
