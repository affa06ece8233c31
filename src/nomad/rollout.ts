// After a deploy PR merges: optionally submit its job files to Nomad, then one GitHub Deployment per
// moved service with the status its Nomad deployment has at that moment. A webhook handler cannot wait
// for a rollout to finish: follow.ts re-checks non-terminal ones later with `checkRollout` (docs/nomad.md).
import type { Config } from "../config/schema.js";
import { discoverServices } from "../core/discovery.js";
import { findImages } from "../jobfile/jobfile.js";
import type { DeploymentState, DeploymentTarget, DeploymentsPort } from "../core/ports.js";
import { type NomadClient, describeNomadError } from "./client.js";
import { rolledOutByAllocations, summarizeAllocations } from "./allocations.js";
import { rolloutDescription } from "./render.js";
import {
  type DriftEntry,
  type PinnedSite,
  type RolloutState,
  type RolloutSummary,
  compareDrift,
  pinnedSite,
  summarizeRollout,
} from "./summary.js";
import type { NomadJob } from "./types.js";

export type RolloutPort = Pick<
  NomadClient,
  | "namespace"
  | "parse"
  | "plan"
  | "submit"
  | "job"
  | "latestDeployment"
  | "deploymentAllocations"
  | "jobAllocations"
>;

/** What one look at the cluster says about a job's rollout. */
export interface RolloutCheck {
  state: RolloutState | "error";
  description: string;
  summary?: RolloutSummary;
  /** Without submit: the job as the cluster holds it (null: no such job) and how it compares with git. */
  running?: NomadJob | null;
  drift?: DriftEntry[];
}

export interface RolloutResult extends RolloutCheck {
  service: string;
  job: string;
  /** GitHub deployment id. */
  deployment: number;
  /**
   * The deployment was already there (a redelivered webhook): nothing was created or posted, and whoever
   * made it (the first delivery's follow-up, `rollout --wait`) keeps reporting on it.
   */
  existing?: true;
  /** What a later re-check needs (follow.ts): the pinned sites and, with submit, the JobModifyIndex. */
  target: RolloutTarget;
  submitIndex?: number;
  /** With submit: the job as submitted, so a re-check before its deployment exists need not read it back. */
  submitted?: NomadJob;
  /** With submit: why Nomad did not take the job file (the same text as the `error` status). */
  submitError?: string;
}

export interface RolloutInput {
  config: Config;
  client: RolloutPort;
  deployments: DeploymentsPort;
  /** The merge commit: the ref the GitHub deployments name. */
  sha: string;
  /** The merged PR's job files with their texts at `sha`. */
  files: ReadonlyArray<{ path: string; text: string }>;
  /**
   * Job ID → the JobModifyIndex the PR's plan preview saw (src/nomad/preview-index.ts). A submit names it,
   * so a job changed after the preview is refused; a job without one is planned at merge time instead.
   */
  previewIndexes?: ReadonlyMap<string, number>;
}

/** One service in one job: what a rollout is reported for. */
export interface RolloutTarget {
  service: string;
  file: string;
  job: string;
  sites: PinnedSite[];
}

/** The config's services found in the given job files, one target per (service, job). */
export async function rolloutTargets(
  config: Config,
  files: ReadonlyArray<{ path: string; text: string }>,
): Promise<RolloutTarget[]> {
  const scanned = await Promise.all(
    files.map(async (f) => ({ path: f.path, scan: await findImages(f.text) })),
  );
  const discovery = discoverServices(config, scanned);
  const targets: RolloutTarget[] = [];
  for (const s of discovery.services) {
    const byJob = new Map<string, RolloutTarget>();
    for (const site of s.sites) {
      if (site.job === null) continue;
      const t = byJob.get(site.job) ?? { service: s.name, file: site.file, job: site.job, sites: [] };
      t.sites.push(pinnedSite(s, { ...site, job: site.job }));
      byJob.set(site.job, t);
    }
    targets.push(...byJob.values());
  }
  return targets;
}

export async function reportRollouts(input: RolloutInput): Promise<RolloutResult[]> {
  const { config, client } = input;
  const targets = await rolloutTargets(config, input.files);
  if (targets.length === 0) return [];
  const environment = config.nomad?.environment ?? "production";

  // One look at GitHub per merge: a target that already has its deployment for this commit and
  // environment was reported by an earlier delivery of the same event.
  const made = new Map<string, number>();
  for (const d of await input.deployments.existing({ ref: input.sha, environment })) {
    const key = targetKey(d);
    if (!made.has(key)) made.set(key, d.id); // newest first: the latest one stands
  }
  const pending = targets.filter((t) => !made.has(targetKey(t)));

  // nomad.submit: register each file once; the JobModifyIndex tells this version's deployment apart.
  // A file whose targets all have their deployment was submitted by that earlier delivery already.
  // Check-and-set: the plan names the job version the cluster holds, and the submit is refused if a
  // person (or another tool) changed the job in between; that is an error, never an overwrite.
  const submitted = new Map<string, Submitted>();
  if (config.nomad?.submit) {
    for (const file of input.files) {
      if (!pending.some((t) => t.file === file.path)) continue;
      let previewed: number | undefined;
      try {
        const job = await client.parse(file.text);
        previewed = input.previewIndexes?.get(job.ID);
        // The preview's index reaches back to what reviewers saw; without one, the merge-time plan's.
        const index = previewed ?? (await client.plan(job)).JobModifyIndex ?? 0;
        const out = await client.submit(job, { enforceIndex: index, source: file.text });
        // Nomad keeps a job whose spec did not change: no new version, no deployment, and the answer
        // names the JobModifyIndex the submit enforced (nomad/job_endpoint.go, Register).
        const unchanged = index > 0 && out.JobModifyIndex === index;
        submitted.set(file.path, { index: out.JobModifyIndex, job, ...(unchanged ? { unchanged } : {}) });
      } catch (error) {
        submitted.set(file.path, {
          error: refusedSubmit(describeNomadError(error), previewed !== undefined),
        });
      }
    }
  }

  const results: RolloutResult[] = [];
  const fresh: RolloutResult[] = [];
  for (const t of targets) {
    const submit = submitted.get(t.file);
    const found =
      submit && "error" in submit
        ? { state: "error" as const, description: clip(submit.error) }
        : submit?.unchanged
          ? await checkUnchanged(client, t, submit.index)
          : await checkRollout(client, t, submit?.index, submit?.job);
    const earlier = made.get(targetKey(t));
    const result: RolloutResult = {
      service: t.service,
      job: t.job,
      deployment: earlier ?? 0,
      target: t,
      ...(submit && "index" in submit ? { submitIndex: submit.index, submitted: submit.job } : {}),
      ...(submit && "error" in submit ? { submitError: submit.error } : {}),
      ...found,
    };
    // Read-only when it exists: the state is for the log; the deployment's statuses stay its follower's.
    if (earlier !== undefined) results.push({ ...result, existing: true });
    else fresh.push(result);
  }

  // One deployment per moved service reads best; above GROUP_ABOVE, one for them all keeps a big merge
  // at two content-creating requests (and its follow-up at one status per re-check): GitHub allows 80 a
  // minute, and one per service would be 200+ for 100 services (docs/nomad.md).
  const groups = fresh.length > GROUP_ABOVE ? [fresh] : fresh.map((r) => [r]);
  for (const group of groups) {
    const targetsOf = group.map((r) => deploymentTarget(r));
    const one = group.length === 1 ? targetsOf[0]! : null;
    const deployment = await input.deployments.create({
      ref: input.sha,
      environment,
      description: one
        ? `${one.service} ${one.digest ? one.digest.slice(0, 19) : ""}`.trim()
        : `${group.length} services`,
      payload: one
        ? {
            service: one.service,
            job: one.job,
            namespace: client.namespace,
            digest: one.digest,
            targets: targetsOf,
          }
        : { namespace: client.namespace, targets: targetsOf },
    });
    await input.deployments.status(deployment, combinedStatus(group));
    for (const r of group) results.push({ ...r, deployment });
  }
  // In the order of the targets (the job files'), existing or not.
  return results.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
}

type Submitted = { index: number; job: NomadJob; unchanged?: true } | { error: string };

/**
 * Why a submit was refused, as what happened: Nomad's check-and-set errors (nomad/job_endpoint.go,
 * Register: "Enforcing job modify index N: job exists with conflicting job modify index: M", "…: job
 * already exists", "…: job does not exist") each say how the job moved since it was planned.
 */
export function refusedSubmit(detail: string, fromPreview: boolean): string {
  const when = fromPreview ? "the PR's plan preview" : "the bot planned it";
  if (/job does not exist/i.test(detail))
    return `not submitted: the job was purged from Nomad after ${when}; nothing was recreated (${detail})`;
  if (/job already exists/i.test(detail))
    return `not submitted: the job was created in Nomad after ${when}; it was not overwritten (${detail})`;
  if (/conflicting job modify index/i.test(detail))
    return `not submitted: the job changed in Nomad after ${when} (${detail})`;
  return `submit failed: ${detail}`;
}

/** Above this many moved services, a merge makes one GitHub deployment for all of them. */
export const GROUP_ABOVE = 10;

/** What a deployment's payload records of a target: enough for any replica to resume following it. */
function deploymentTarget(r: RolloutResult): DeploymentTarget {
  return {
    service: r.service,
    job: r.job,
    file: r.target.file,
    digest: r.target.sites.find((s) => s.digest)?.digest ?? null,
    ...(r.submitIndex !== undefined ? { submit_index: r.submitIndex } : {}),
  };
}

/**
 * One deployment's status from its services' states: a single service's own; for many, the least
 * advanced state (queued < in_progress < done) with counts, and failure once all are done and any failed.
 */
export function combinedStatus(
  items: ReadonlyArray<{ service: string; state: DeploymentState; description: string }>,
): { state: DeploymentState; description: string } {
  if (items.length === 1) return { state: items[0]!.state, description: items[0]!.description };
  const count = (...states: DeploymentState[]) => items.filter((i) => states.includes(i.state)).length;
  const failed = items.filter((i) => i.state === "failure" || i.state === "error").map((i) => i.service);
  const open = count("queued", "in_progress");
  const state: DeploymentState =
    open > 0
      ? count("queued") === items.length
        ? "queued"
        : "in_progress"
      : failed.length > 0
        ? "failure"
        : "success";
  const parts = [
    `${count("success", "inactive")}/${items.length} services rolled out`,
    count("in_progress") > 0 && `${count("in_progress")} rolling out`,
    count("queued") > 0 && `${count("queued")} queued`,
    failed.length > 0 && `${failed.length} failed: ${failed.join(", ")}`,
  ].filter(Boolean);
  return { state, description: clip(parts.join(", ")) };
}

const targetKey = (t: { service: string; job: string }) => JSON.stringify([t.service, t.job]);

export type RolloutCheckPort = Pick<
  NomadClient,
  "job" | "latestDeployment" | "deploymentAllocations" | "jobAllocations"
>;

/**
 * One look at a target's rollout. `submitIndex` (the bot submitted the job) tells that version's
 * deployment apart; without it the job the cluster holds must name the pinned digest first. `submitted`:
 * the job as this look's caller just submitted it, when it has it. Never throws: a Nomad error is state
 * "error".
 */
export async function checkRollout(
  client: RolloutCheckPort,
  target: RolloutTarget,
  submitIndex?: number,
  submitted?: NomadJob,
): Promise<RolloutCheck> {
  let seen: Pick<RolloutCheck, "running" | "drift"> = {};
  try {
    if (submitIndex === undefined) {
      // Someone else (a GitOps reconciler) submits: until the cluster's job names the pinned digest, the
      // latest deployment is an older version's.
      const running = await client.job(target.job);
      const drift = compareDrift(target.sites, new Map([[target.job, running]]));
      seen = { running, drift };
      const waiting = drift.find((d) => d.status !== "same");
      if (waiting) {
        const why = running === null ? "job not in the cluster yet" : "cluster still runs another digest";
        return {
          state: "queued",
          description: clip(`waiting for Nomad to pick up the merge: ${why}`),
          ...seen,
        };
      }
    }
    const deployment = await client.latestDeployment(target.job);
    const stale =
      submitIndex !== undefined && deployment !== null && typeof deployment.JobModifyIndex === "number"
        ? deployment.JobModifyIndex < submitIndex
        : false;
    if (deployment === null || stale) {
      // Batch, sysbatch and (before Nomad 1.11) system jobs never get a deployment: their allocations are
      // the rollout, read for the version the cluster holds.
      // A submitted job that has deployments needs no read back to say so; one rolled out by its
      // allocations is read for the version the cluster gave it, which only the cluster knows.
      const job =
        seen.running !== undefined
          ? seen.running
          : submitted !== undefined && !rolledOutByAllocations(submitted)
            ? submitted
            : await client.job(target.job);
      if (job !== null && rolledOutByAllocations(job)) {
        const summary = summarizeAllocations(job, await client.jobAllocations(target.job));
        return { state: summary.state, description: rolloutDescription(summary), summary, ...seen };
      }
      const summary = summarizeRollout(null, []);
      return { state: summary.state, description: summary.description, summary, ...seen };
    }
    const allocations =
      deployment.Status === "failed" ? await client.deploymentAllocations(deployment.ID) : [];
    const summary = summarizeRollout(deployment, allocations);
    return { state: summary.state, description: rolloutDescription(summary), summary, ...seen };
  } catch (error) {
    return { state: "error", description: clip(describeNomadError(error)), ...seen };
  }
}

/**
 * A submit Nomad kept as it was: the cluster already runs this version (a person ran the file, or an
 * earlier submit did), so there is no new deployment to wait for. The version's own deployment, when it
 * has one, says how its rollout went; without one, the job running that version is the result.
 */
export async function checkUnchanged(
  client: RolloutCheckPort,
  target: RolloutTarget,
  index: number,
): Promise<RolloutCheck> {
  try {
    const [running, deployment] = await Promise.all([
      client.job(target.job),
      client.latestDeployment(target.job),
    ]);
    if (running === null) {
      return { state: "error", description: clip("job gone from Nomad right after the submit"), running };
    }
    const version = running.Version ?? null;
    const own = deployment !== null && (deployment.JobModifyIndex ?? 0) >= index;
    if (own) {
      const allocations =
        deployment.Status === "failed" ? await client.deploymentAllocations(deployment.ID) : [];
      const summary = summarizeRollout(deployment, allocations);
      return {
        state: summary.state,
        description: clip(`unchanged, Nomad already had this version: ${rolloutDescription(summary)}`),
        summary,
        running,
      };
    }
    if (rolledOutByAllocations(running)) {
      // A batch job that already ran this version is "dead" when it completed: its allocations say how.
      const summary = summarizeAllocations(running, await client.jobAllocations(target.job));
      return {
        state: summary.state,
        description: clip(`unchanged, Nomad already had this version: ${rolloutDescription(summary)}`),
        summary,
        running,
      };
    }
    const v = `v${version ?? "?"}`;
    if (running.Status !== undefined && running.Status !== "running") {
      // Kept, but not running: a success would be a claim nobody checked.
      return {
        state: "error",
        description: clip(`Nomad kept ${v} unchanged, but the job is ${running.Status}; no new deployment`),
        running,
      };
    }
    return {
      state: "success",
      description: clip(`already running: Nomad kept ${v} unchanged; no new deployment`),
      running,
    };
  } catch (error) {
    return { state: "error", description: clip(describeNomadError(error)) };
  }
}

const clip = (text: string) => (text.length > 140 ? `${text.slice(0, 139)}…` : text);
