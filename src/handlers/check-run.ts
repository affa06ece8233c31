// check_run rerequested ("Re-run" in the Checks tab): plan that commit again.
import type { Context } from "probot";
import { CHECK_NAME } from "../github/types.js";
import { coordsOf } from "./context.js";
import { deployBranches, loadConfig, configFailure } from "./config.js";
import { CheckRuns } from "../github/checks.js";
import { type DeployDeps, deploy } from "./deploy.js";

export async function onCheckRunRerequested(
  context: Context<"check_run.rerequested">,
  deps: DeployDeps,
): Promise<void> {
  const run = context.payload.check_run;
  if (run.name !== CHECK_NAME) return;
  const branch = run.check_suite.head_branch;
  if (!branch) return;
  const coords = coordsOf(context);
  const loaded = await loadConfig(context.octokit, coords, run.head_sha);
  if (loaded.status === "absent") return;
  if (loaded.status === "invalid") {
    await new CheckRuns(context.octokit, coords).completed(
      run.head_sha,
      "failure",
      configFailure(loaded.errors),
    );
    return;
  }
  if (!deployBranches(loaded.config, context.payload.repository.default_branch).includes(branch)) return;
  await deploy(context, deps, {
    config: loaded.config,
    branch,
    sha: run.head_sha,
    buildUrl: null,
    newCheckRun: true,
  });
}
