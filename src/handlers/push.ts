// push to a deploy branch: the `nomad-gitops` check run appears queued on the pushed commit, and with
// `build.trigger: dispatch` the build workflow is dispatched for it. Everything else is ignored.
import type { Context } from "probot";
import { shortSha } from "../core/templates.js";
import { dispatchWorkflow } from "../github/workflows.js";
import { configFailure } from "./config.js";
import { openEvent } from "./opening.js";

export async function onPush(context: Context<"push">): Promise<void> {
  const { payload } = context;
  if (payload.deleted || !payload.ref.startsWith("refs/heads/")) return;
  const branch = payload.ref.slice("refs/heads/".length);
  const sha = payload.after;
  const opened = await openEvent(context, {
    sha,
    branch,
    defaultBranch: payload.repository.default_branch,
  });
  if (!opened) return;
  const { config, coords, checks } = opened;
  const workflow = config.build.workflow;
  if (!workflow) {
    // The App learns that images exist from this workflow's workflow_run: without it nothing would
    // ever deploy and the check would wait forever.
    await checks.completed(sha, "failure", configFailure([WORKFLOW_REQUIRED]));
    return;
  }
  const dispatch = config.build.trigger === "dispatch";
  // A commit that already has a check run was seen before (a redelivered push, or its build already
  // reported): dispatching again would build it twice, and re-queueing would re-title a finished run.
  if ((await checks.list(sha)).length > 0) {
    context.log.info({ branch, sha }, "push already handled");
    return;
  }
  if (dispatch) {
    const failure = await dispatchWorkflow(context.octokit, coords, { workflow, ref: branch, sha });
    if (failure) {
      await checks.completed(sha, "failure", {
        title: "Could not dispatch the build",
        summary: `Dispatching \`${workflow}\` on \`${branch}\` failed: ${failure}\n\nNothing was planned or changed. Re-run this check once the workflow can be dispatched (it needs \`on: workflow_dispatch\`).`,
      });
      return;
    }
  }
  // Queued after the dispatch: a transient dispatch failure leaves no run, so GitHub's redelivery retries it.
  await checks.queueForPush(sha, {
    title: "Waiting for the build",
    summary: dispatch
      ? `Dispatched \`${workflow}\` for ${shortSha(sha)} on \`${branch}\`; the plan follows when it succeeds.`
      : `Waiting for \`${workflow}\` to finish for ${shortSha(sha)} on \`${branch}\`.`,
  });
  context.log.info({ branch, sha, trigger: config.build.trigger }, "deploy push queued");
}

const WORKFLOW_REQUIRED = {
  path: "build.workflow",
  message: 'is required by the App: the file name of the workflow that builds the images, e.g. "images.yml"',
};
