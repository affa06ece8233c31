// workflow_run completed for the configured build workflow on a deploy branch: a failed build turns the
// check red and touches nothing else; a successful one runs the deploy for that commit. Each attempt of a
// run has its own check run (see github/checks.ts): a redelivery, or an attempt older than one already
// reported, changes nothing. A configured builder's workflow (`provenance.builders`) completing re-plans
// the commit it rebuilt: a service awaiting that builder is pinned once its result is there.
import type { Context } from "probot";
import type { Attempt } from "../github/checks.js";
import { openEvent } from "./opening.js";
import { type DeployDeps, deploy } from "./deploy.js";

export async function onWorkflowRunCompleted(
  context: Context<"workflow_run.completed">,
  deps: DeployDeps,
): Promise<void> {
  const run = context.payload.workflow_run;
  const branch = run.head_branch;
  // A rebuild is typically started by the build's own completion (event workflow_run).
  const events = ["push", "workflow_dispatch", "workflow_run"];
  if (!branch || !events.includes(run.event)) return;
  const opened = await openEvent(context, {
    sha: run.head_sha,
    branch,
    defaultBranch: context.payload.repository.default_branch,
  });
  if (!opened) return;
  const { config, checks } = opened;
  const file = (context.payload.workflow?.path ?? run.path).split("/").pop();
  const attempt: Attempt = { kind: "build", runId: run.id, attempt: run.run_attempt ?? 1 };
  const p = config.provenance;
  const rebuilt = file !== config.build.workflow && p?.builders.some((b) => b.workflow === file);
  if (p?.require && rebuilt) {
    // A failed rebuild leaves its services awaiting; the build's own check run already says so, and the
    // builder's run shows red beside it. Nothing it may have pushed is read: only a run that succeeded counts.
    if (run.conclusion !== "success") {
      context.log.info(
        { sha: run.head_sha, builder: file, conclusion: run.conclusion },
        "builder run did not succeed: its services stay awaiting",
      );
      return;
    }
    await deploy(context, deps, { config, branch, sha: run.head_sha, attempt });
    return;
  }
  if (run.event === "workflow_run" || !config.build.workflow || file !== config.build.workflow) return;

  if (run.conclusion !== "success") {
    const finished = await checks.finish(
      run.head_sha,
      attempt,
      run.conclusion === "cancelled" || run.conclusion === "skipped" ? "neutral" : "failure",
      {
        title: `Build ${run.conclusion ?? "did not succeed"}`,
        summary: `The build [${config.build.workflow} #${run.run_number}](${run.html_url}) ended \`${run.conclusion}\`: nothing was planned or changed.`,
      },
    );
    context.log.info(
      {
        sha: run.head_sha,
        conclusion: run.conclusion,
        ...("skip" in finished ? { skipped: finished.skip.kind } : {}),
      },
      "build did not succeed",
    );
    return;
  }
  const stamp = run.head_commit?.timestamp;
  await deploy(context, deps, {
    config,
    branch,
    sha: run.head_sha,
    attempt,
    ...(stamp ? { date: new Date(stamp) } : {}),
  });
}
