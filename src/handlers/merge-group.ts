// merge_group checks_requested: GitHub's merge queue merges queued PRs into a temporary branch
// (`gh-readonly-queue/<base>/pr-<n>-<sha>`) and waits for every required check on its head commit. When
// `nomad-gitops` is required (it checks config changes on PRs), the queue drops the PR unless that commit
// gets a completed `nomad-gitops` run. Nothing is built or deployed from a queue commit: the deploy
// happens on the push to the base branch once the group merges.
import type { Context } from "probot";
import { CONFIG_PATH } from "../config/load.js";
import { CheckRuns } from "../github/checks.js";
import { configFailure, deployBranches, loadConfig } from "./config.js";
import { coordsOf } from "./context.js";

/** The merge queue's temporary branches (GitHub creates and deletes them; a push to one is no deploy). */
export const MERGE_QUEUE_PREFIX = "gh-readonly-queue/";

/** Whether `branch` (a name, or a `refs/heads/` ref) is one of the merge queue's temporary branches. */
export function isMergeQueueBranch(branch: string): boolean {
  return branch.replace(/^refs\/heads\//, "").startsWith(MERGE_QUEUE_PREFIX);
}

export async function onMergeGroupChecksRequested(
  context: Context<"merge_group.checks_requested">,
): Promise<void> {
  const group = context.payload.merge_group;
  const sha = group.head_sha;
  const base = group.base_ref.replace(/^refs\/heads\//, "");
  const queueBranch = group.head_ref.replace(/^refs\/heads\//, "");
  const coords = coordsOf(context);
  const loaded = await loadConfig(context.octokit, coords, sha);
  // Not set up here: the App posts no check in this repository, so none can be required.
  if (loaded.status === "absent") return;
  const checks = new CheckRuns(context.octokit, coords);
  if (loaded.status === "invalid") {
    // The group would merge a broken config: failing here is what keeps it out of the base branch.
    await checks.completed(sha, "failure", configFailure(loaded.errors));
    context.log.info({ sha, base }, "merge group: invalid config reported");
    return;
  }
  const branches = deployBranches(loaded.config, context.payload.repository?.default_branch ?? base);
  const deploys = branches.includes(base);
  await checks.completed(sha, "success", {
    title: "Merge-queue commit: nothing deployed from it",
    summary: [
      `This commit is the merge queue's trial merge into \`${base}\` (\`${queueBranch}\`). nomad-gitops builds, pins and deploys nothing from a merge-queue commit; \`${CONFIG_PATH}\` at this commit is valid.`,
      "",
      deploys
        ? `Once the group merges, the push to \`${base}\` is deployed as usual.`
        : `\`${base}\` is not a deploy branch (deploy branches: ${branches.map((b) => `\`${b}\``).join(", ")}): merging it deploys nothing.`,
    ].join("\n"),
  });
  context.log.info({ sha, base, deploys }, "merge group: check completed, nothing deployed");
}
