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

/**
 * The base branch a queue branch merges into: `gh-readonly-queue/<base>/pr-<n>-<sha>`, where the base may
 * itself hold slashes. Null for a name that is not a queue branch.
 */
export function mergeQueueBase(branch: string): string | null {
  const name = branch.replace(/^refs\/heads\//, "");
  if (!name.startsWith(MERGE_QUEUE_PREFIX)) return null;
  const m = /^(.+)\/pr-\d+-[0-9a-f]{40,64}$/.exec(name.slice(MERGE_QUEUE_PREFIX.length));
  return m ? m[1]! : null;
}

export interface MergeGroupCommit {
  sha: string;
  /** The branch the group merges into. */
  base: string;
  /** The queue's temporary branch (`gh-readonly-queue/…`). */
  queueBranch: string;
  defaultBranch: string;
}

export async function onMergeGroupChecksRequested(
  context: Context<"merge_group.checks_requested">,
): Promise<void> {
  const group = context.payload.merge_group;
  await checkMergeGroup(context, {
    sha: group.head_sha,
    base: group.base_ref.replace(/^refs\/heads\//, ""),
    queueBranch: group.head_ref.replace(/^refs\/heads\//, ""),
    defaultBranch: context.payload.repository?.default_branch ?? group.base_ref.replace(/^refs\/heads\//, ""),
  });
}

/**
 * The `nomad-gitops` run of a merge-queue commit: the config at it is valid (or the failure), and nothing
 * is deployed from it. Asked by `merge_group.checks_requested` and by "Re-run" on that run.
 */
export async function checkMergeGroup(context: Context, commit: MergeGroupCommit): Promise<void> {
  const { sha, base, queueBranch } = commit;
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
  const branches = deployBranches(loaded.config, commit.defaultBranch);
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
