// pull_request: a merged (or closed) deploy PR loses its branch; a PR that changes the config gets the
// same validation as a deploy, as a check on its head commit.
import type { Context } from "probot";
import { followMergedRollouts, onDeployMerged, reportRefusedSubmits } from "./nomad.js";
import { type Scheduler, realScheduler } from "../nomad/follow.js";
import { type FollowClaims, localClaims } from "../nomad/follow-deployments.js";
import { CheckRuns } from "../github/checks.js";
import { GitHubRepo } from "../github/repo.js";
import { coordsOf } from "./context.js";
import { PullRequests } from "../github/pr.js";
import { CONFIG_FILE, CONFIG_PATH, CONFIG_PATH_YAML as YAML_PATH } from "../config/load.js";
import { configFailure, deployBranches, loadConfig } from "./config.js";

/** Claims of this process's follow-ups, when the App was not given shared ones. */
const processClaims = localClaims();

// Probot reads only the .yml name: a .yaml file would be silently ignored, so it is flagged instead.

export async function onPullRequestClosed(
  context: Context<"pull_request.closed">,
  deps: {
    nomadEnv?: Readonly<Record<string, string | undefined>>;
    /** Time for the rollout follow-up (default: real, unref'd timers). */
    rolloutScheduler?: Scheduler;
    /** Who follows which deployment (default: this process; src/server.ts passes Redis with REDIS_URL). */
    rolloutClaims?: FollowClaims;
  } = {},
): Promise<void> {
  const pr = context.payload.pull_request;
  const coords = coordsOf(context);
  // Only our own branch in this repository: a fork's branch of the same name is not ours to delete.
  if (pr.head.repo?.full_name !== context.payload.repository.full_name) return;
  const loaded = await loadConfig(context.octokit, coords);
  if (loaded.status !== "ok") return;
  const { config } = loaded;
  if (pr.head.ref !== config.pr.branch) return;
  if (!deployBranches(config, context.payload.repository.default_branch).includes(pr.base.ref)) return;
  if (!pr.merged) {
    // Closed unmerged: keep the branch, a later build rewrites it and reopens a PR.
    context.log.info({ pr: pr.number }, "deploy PR closed without merge; branch kept");
    return;
  }
  // Only while it still holds the merged head: a redelivery finds it gone, and a newer deploy branch stays.
  const deleted = await new GitHubRepo(context.octokit, coords).deleteBranchAt(pr.head.ref, pr.head.sha);
  context.log.info({ pr: pr.number, branch: pr.head.ref, deleted }, "deploy PR merged");
  if (config.nomad?.address && pr.merge_commit_sha) {
    // Rollout status as GitHub Deployments; Nomad trouble ends up in the statuses, never in a failed event.
    const rollouts = await onDeployMerged({
      octokit: context.octokit,
      coords,
      config,
      pullNumber: pr.number,
      mergeSha: pr.merge_commit_sha,
      prBody: pr.body,
      ...(deps.nomadEnv ? { env: deps.nomadEnv } : {}),
    });
    await reportRefusedSubmits({ octokit: context.octokit, coords, mergeSha: pr.merge_commit_sha, rollouts });
    context.log.info(
      { pr: pr.number, rollouts: rollouts.map((r) => ({ service: r.service, job: r.job, state: r.state })) },
      "rollouts reported",
    );
    // Not awaited: the follow-up runs after this handler returned, on its own timers.
    const following = followMergedRollouts({
      octokit: context.octokit,
      coords,
      config,
      rollouts,
      scheduler: deps.rolloutScheduler ?? realScheduler({ unref: true }),
      claims: deps.rolloutClaims ?? processClaims,
      log: context.log,
      ...(deps.nomadEnv ? { env: deps.nomadEnv } : {}),
    });
    if (following) {
      context.log.info(
        { pr: pr.number, minutes: config.nomad.follow_minutes },
        "following rollouts until they finish",
      );
    }
  }
}

export async function onPullRequestChanged(
  context: Context<"pull_request.opened" | "pull_request.synchronize" | "pull_request.reopened">,
): Promise<void> {
  const pr = context.payload.pull_request;
  const coords = coordsOf(context);
  const files = await new PullRequests(context.octokit, coords).changedFiles(pr.number);
  const checks = new CheckRuns(context.octokit, coords);
  if (files.some((f) => f.path === YAML_PATH && f.status !== "removed")) {
    await checks.completed(pr.head.sha, "failure", {
      title: `Rename ${YAML_PATH} to ${CONFIG_FILE}`,
      summary: `The bot reads \`${CONFIG_PATH}\` only: \`${YAML_PATH}\` would be ignored.`,
    });
    return;
  }
  if (!files.some((f) => f.path === CONFIG_PATH || f.previousPath === CONFIG_PATH)) return;
  const loaded = await loadConfig(context.octokit, coords, pr.head.sha);
  if (loaded.status === "invalid") {
    await checks.completed(pr.head.sha, "failure", configFailure(loaded.errors));
  } else if (loaded.status === "ok") {
    await checks.completed(pr.head.sha, "success", {
      title: `${CONFIG_PATH} is valid`,
      summary: `The changed \`${CONFIG_PATH}\` passes validation.`,
    });
  } else {
    await checks.completed(pr.head.sha, "neutral", {
      title: `No ${CONFIG_PATH}`,
      summary: `This change removes \`${CONFIG_PATH}\`: the bot will ignore this repository after it merges.`,
    });
  }
}
