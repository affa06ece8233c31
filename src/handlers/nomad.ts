// The App's hooks after a deploy PR is merged; each is a no-op without `nomad.address` in the config.
// (The Nomad report of a deploy run is the core's: DeployOptions.cluster, src/nomad/report.ts.)
import type { Config } from "../config/schema.js";
import { matchesAny } from "../core/glob.js";
import { CheckRuns } from "../github/checks.js";
import { PullRequests } from "../github/pr.js";
import { GitHubRepo } from "../github/repo.js";
import { type Octokit, ROLLOUT_CHECK_NAME, type RepoCoords } from "../github/types.js";
import { nomadClientFor } from "../nomad/client.js";
import { type Scheduler, followRollouts, isTerminal, timeoutDescription } from "../nomad/follow.js";
import { GitHubDeployments } from "../github/deployments.js";
import { readPlanIndexes } from "../nomad/preview-index.js";
import { type RolloutResult, reportRollouts } from "../nomad/rollout.js";

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

/** Where the follow-up reports (Probot's context.log fits). */
export interface FollowLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * After onDeployMerged: when some rollout is not terminal yet and `nomad.follow_minutes` is not 0, keeps
 * following them detached from the webhook (through the scheduler) and posts a deployment status on each
 * state change, then `error` for any still going at the deadline. Rollouts marked `existing` are left to
 * whoever follows them already. Returns whether a follow-up started.
 * In memory only: a restart of this process ends it (the `rollout` CLI command can take over).
 */
export function followMergedRollouts(input: {
  octokit: Octokit;
  coords: RepoCoords;
  config: Config;
  rollouts: readonly RolloutResult[];
  scheduler: Scheduler;
  log: FollowLog;
  env?: Env;
}): boolean {
  const minutes = input.config.nomad?.follow_minutes ?? 0;
  // An existing deployment (redelivered webhook) has its follower already: the first delivery's, or
  // `rollout --wait`. A second one would post every state change twice.
  const open = input.rollouts.filter((r) => !r.existing && !isTerminal(r.state));
  const client = nomadClientFor(input.config.nomad, input.env);
  if (minutes === 0 || open.length === 0 || !client) return false;
  const deployments = new GitHubDeployments(input.octokit, input.coords);
  const ids = new Map(open.map((r) => [r.target, r.deployment]));
  // A status that fails to post is logged; following goes on (the next change may get through).
  const post = async (id: number, state: Parameters<GitHubDeployments["status"]>[1]) => {
    try {
      await deployments.status(id, state);
    } catch (error) {
      input.log.warn(
        { deployment: id, state: state.state, error: (error as Error).message },
        "could not post a rollout status",
      );
    }
  };
  input.scheduler.detach(async () => {
    try {
      const outcomes = await followRollouts(
        open.map((r) => ({
          target: r.target,
          state: r.state,
          description: r.description,
          ...(r.submitIndex !== undefined ? { submitIndex: r.submitIndex } : {}),
        })),
        {
          client,
          scheduler: input.scheduler,
          minutes,
          onChange: (item, check) =>
            post(ids.get(item.target)!, { state: check.state, description: check.description }),
        },
      );
      for (const o of outcomes.filter((x) => x.timedOut)) {
        await post(ids.get(o.item.target)!, {
          state: "error",
          description: timeoutDescription(o, minutes, client.namespace),
        });
      }
      input.log.info(
        {
          rollouts: outcomes.map((o) => ({
            service: o.item.target.service,
            job: o.item.target.job,
            state: o.timedOut ? "timed out" : o.item.state,
          })),
        },
        "rollout follow-up finished",
      );
    } catch (error) {
      // Detached work has nobody to throw to.
      input.log.warn({ error: (error as Error).message }, "rollout follow-up failed");
    }
  });
  return true;
}
