// The App's hooks after a deploy PR is merged; each is a no-op without `nomad.address` in the config.
// (The Nomad report of a deploy run is the core's: DeployOptions.cluster, src/nomad/report.ts.)
import type { Config } from "../config/schema.js";
import { matchesAny } from "../core/glob.js";
import { CheckRuns } from "../github/checks.js";
import { PullRequests } from "../github/pr.js";
import { GitHubRepo } from "../github/repo.js";
import { type Octokit, ROLLOUT_CHECK_NAME, type RepoCoords } from "../github/types.js";
import { nomadClientFor } from "../nomad/client.js";
import { type Scheduler, isTerminal } from "../nomad/follow.js";
import {
  type FollowClaims,
  type FollowLog,
  type TrackedDeployment,
  followDeployments,
} from "../nomad/follow-deployments.js";
import { GitHubDeployments } from "../github/deployments.js";
import { readPlanIndexes } from "../nomad/preview-index.js";
import { type RolloutResult, combinedStatus, reportRollouts } from "../nomad/rollout.js";

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A merged deploy PR: its job files (read at the merge commit) are optionally submitted, then each moved
 * service gets a GitHub Deployment with its Nomad rollout status at this moment. A redelivery of the same
 * event finds the deployments it made (one GitHub read) and creates, submits and posts nothing again.
 */
export async function onDeployMerged(input: {
  octokit: Octokit;
  coords: RepoCoords;
  config: Config;
  pullNumber: number;
  mergeSha: string;
  /** The merged PR's body: the plan preview's job modify indexes ride in it (src/nomad/preview-index.ts). */
  prBody?: string | null;
  env?: Env;
}): Promise<RolloutResult[]> {
  const client = nomadClientFor(input.config.nomad, input.env);
  if (!client) return [];
  const changed = await new PullRequests(input.octokit, input.coords).changedFiles(input.pullNumber);
  const paths = changed
    .filter((f) => f.status !== "removed" && matchesAny(f.path, input.config.jobs))
    .map((f) => f.path)
    .sort();
  if (paths.length === 0) return [];
  const texts = await new GitHubRepo(input.octokit, input.coords).readTexts(input.mergeSha, paths);
  const files = paths.flatMap((path) => {
    const text = texts.get(path);
    return typeof text === "string" ? [{ path, text }] : [];
  });
  return reportRollouts({
    config: input.config,
    client,
    deployments: new GitHubDeployments(input.octokit, input.coords),
    sha: input.mergeSha,
    files,
    previewIndexes: readPlanIndexes(input.prBody),
  });
}

/**
 * A submit Nomad refused (the job changed since the preview, ACL, invalid job) fails a check run on the
 * merge commit as well as the deployment: the merge is where people look. Nothing is written otherwise.
 */
export async function reportRefusedSubmits(input: {
  octokit: Octokit;
  coords: RepoCoords;
  mergeSha: string;
  rollouts: readonly RolloutResult[];
}): Promise<boolean> {
  const refused = input.rollouts.filter((r) => r.submitError && !r.existing);
  if (refused.length === 0) return false;
  const jobs = [...new Set(refused.map((r) => r.job))];
  await new CheckRuns(input.octokit, input.coords, ROLLOUT_CHECK_NAME).completed(input.mergeSha, "failure", {
    title: `Nomad did not take ${jobs.length === 1 ? `job ${jobs[0]}` : `${jobs.length} jobs`}`,
    summary: [
      "The merged job files were not all submitted; nothing was overwritten.",
      "",
      ...refused.map((r) => `- \`${r.job}\` (${r.service}): ${r.submitError}`),
    ].join("\n"),
  });
  return true;
}

/**
 * After onDeployMerged: when some deployment is not final yet and `nomad.follow_minutes` is not 0, keeps
 * following it detached from the webhook (through the scheduler), one status per change, then `error`
 * for one still going at the deadline. Deployments marked `existing` were made by an earlier delivery:
 * their follower is that delivery's, or a replica that resumed it. Returns whether a follow-up started.
 */
export function followMergedRollouts(input: {
  octokit: Octokit;
  coords: RepoCoords;
  config: Config;
  rollouts: readonly RolloutResult[];
  scheduler: Scheduler;
  claims: FollowClaims;
  log: FollowLog;
  env?: Env;
}): boolean {
  const minutes = input.config.nomad?.follow_minutes ?? 0;
  const client = nomadClientFor(input.config.nomad, input.env);
  const byDeployment = new Map<number, RolloutResult[]>();
  for (const r of input.rollouts.filter((x) => !x.existing)) {
    byDeployment.set(r.deployment, [...(byDeployment.get(r.deployment) ?? []), r]);
  }
  const now = input.scheduler.now();
  const tracked: TrackedDeployment[] = [];
  for (const [id, results] of byDeployment) {
    const posted = combinedStatus(results);
    if (isTerminal(posted.state)) continue;
    tracked.push({
      id,
      startedAt: now,
      posted,
      items: results.map((r) => ({
        target: r.target,
        state: r.state,
        description: r.description,
        ...(r.submitIndex !== undefined ? { submitIndex: r.submitIndex } : {}),
        ...(r.submitted !== undefined ? { submitted: r.submitted } : {}),
      })),
    });
  }
  if (minutes === 0 || tracked.length === 0 || !client) return false;
  const deployments = new GitHubDeployments(input.octokit, input.coords);
  input.scheduler.detach(async () => {
    try {
      await followDeployments(tracked, {
        client,
        deployments,
        claims: input.claims,
        claimKey: (id) => claimKey(input.coords, id),
        scheduler: input.scheduler,
        minutes,
        namespace: client.namespace,
        log: input.log,
      });
    } catch (error) {
      // Detached work has nobody to throw to; the state stays in GitHub for a resume.
      input.log.warn({ error: (error as Error).message }, "rollout follow-up failed");
    }
  });
  return true;
}

/** A deployment's claim name: deployment ids are unique per GitHub, the repository keeps it readable. */
export const claimKey = (coords: RepoCoords, id: number) =>
  `nomad-gitops:rollout:${coords.owner}/${coords.repo}#${id}`.toLowerCase();
