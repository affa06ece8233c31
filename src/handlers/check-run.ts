// check_run rerequested ("Re-run" in the Checks tab): plan that commit again (a merge-queue commit gets
// its merge-group check again).
import type { Context } from "probot";
import { GitHubRepo } from "../github/repo.js";
import { CHECK_NAME } from "../github/types.js";
import { checkMergeGroup, mergeQueueBase } from "./merge-group.js";
import { openEvent } from "./opening.js";
import { type DeployDeps, deploy } from "./deploy.js";

export async function onCheckRunRerequested(
  context: Context<"check_run.rerequested">,
  deps: DeployDeps,
): Promise<void> {
  const run = context.payload.check_run;
  if (run.name !== CHECK_NAME) return;
  const branch = run.check_suite.head_branch;
  if (!branch) return;
  const queuedInto = mergeQueueBase(branch);
  if (queuedInto !== null) {
    // A merge-queue commit's run is the merge-group check, recomputed; nothing is ever deployed from it.
    await checkMergeGroup(context, {
      sha: run.head_sha,
      base: queuedInto,
      queueBranch: branch,
      defaultBranch: context.payload.repository.default_branch,
    });
    return;
  }
  const opened = await openEvent(context, {
    sha: run.head_sha,
    branch,
    defaultBranch: context.payload.repository.default_branch,
  });
  if (!opened) return;
  // The release notes are dated by the build commit, as on the build's own run: a re-run on another day
  // then renders the same files and finds the deploy branch already holding them.
  const date = await new GitHubRepo(context.octokit, opened.coords).commitDate(run.head_sha);
  await deploy(context, deps, {
    config: opened.config,
    branch,
    sha: run.head_sha,
    attempt: { kind: "rerun", checkRunId: run.id },
    ...(date ? { date } : {}),
  });
}
