// The Action in a workflow GitHub's merge queue started (`on: merge_group`, or `on: push` reaching a
// `gh-readonly-queue/<base>/…` branch, or a workflow_run of either): a trial merge is never planned,
// committed or deployed. The queue's commit gets a completed `nomad-gitops` run, so a required
// `nomad-gitops` check lets the group through; the deploy happens on the push to the base branch.
import { CheckRuns } from "../github/checks.js";
import { isMergeQueueBranch } from "../handlers/merge-group.js";
import { actionOctokit } from "./client.js";
import { readActionEvent } from "./event.js";
import type { ActionOutcome, Env } from "./run.js";

/** The merge queue's commit this run is about, or null when the run is not the queue's. */
export async function mergeQueueCommit(env: Env): Promise<{ sha: string; branch: string } | null> {
  const event = await readActionEvent(env.GITHUB_EVENT_PATH);
  const group = event.merge_group;
  if (env.GITHUB_EVENT_NAME === "merge_group" || group) {
    return {
      sha: group?.head_sha ?? env.GITHUB_SHA ?? "",
      branch: (group?.head_ref ?? env.GITHUB_REF_NAME ?? "").replace(/^refs\/heads\//, ""),
    };
  }
  const run = event.workflow_run;
  // Any of them: a `branch: main` input on a queue's run would otherwise deploy the trial merge to main.
  const branches = [env.INPUT_BRANCH?.trim(), run?.head_branch, env.GITHUB_REF_NAME, env.GITHUB_REF];
  const queue = branches.find((b) => b && isMergeQueueBranch(b));
  if (run?.event !== "merge_group" && !queue) return null;
  const branch = (queue ?? run?.head_branch ?? "").replace(/^refs\/heads\//, "");
  return { sha: run?.head_sha || env.GITHUB_SHA || (env.INPUT_SHA ?? "").trim(), branch };
}

/**
 * The run's outcome when it is the merge queue's: the completed `nomad-gitops` run on its commit, and
 * outputs that say nothing moved. Null for any other run (the deploy goes on).
 */
export async function mergeQueueOutcome(env: Env): Promise<ActionOutcome | null> {
  const queued = await mergeQueueCommit(env);
  if (!queued) return null;
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
  const token = (env.INPUT_TOKEN ?? "").trim();
  const text = `\`${queued.branch}\` is a merge queue's trial merge: nothing was planned, committed or deployed from it. The deploy runs on the push to the base branch once the group merges.`;
  let reported = "";
  if (/^[0-9a-f]{40}$/.test(queued.sha) && owner && repo && token) {
    const octokit = actionOctokit(env, token, { owner, repo });
    await new CheckRuns(octokit, { owner, repo }).completed(queued.sha, "success", {
      title: "Merge-queue commit: nothing deployed from it",
      summary: text,
    });
    reported = ` The \`nomad-gitops\` check on ${queued.sha.slice(0, 7)} is completed (success).`;
  }
  return {
    outputs: {
      moved: "",
      unchanged: "",
      "pr-number": "",
      "pr-url": "",
      "plan-json": JSON.stringify({ outcome: "merge-queue", sha: queued.sha, branch: queued.branch }),
    },
    summary: `### nomad-gitops\n\n${text}${reported}\n`,
    exitCode: 0,
  };
}
