// check_run rerequested ("Re-run" in the Checks tab): plan that commit again.
import type { Context } from "probot";
import { CHECK_NAME } from "../github/types.js";
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
  const opened = await openEvent(context, {
    sha: run.head_sha,
    branch,
    defaultBranch: context.payload.repository.default_branch,
  });
  if (!opened) return;
  await deploy(context, deps, {
    config: opened.config,
    branch,
    sha: run.head_sha,
    attempt: { kind: "rerun", checkRunId: run.id },
  });
}
