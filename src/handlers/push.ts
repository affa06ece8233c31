// push to a deploy branch: the `nomad-gitops` check run appears queued on the pushed commit, and with
// `build.trigger: dispatch` the build workflow is dispatched for it. Everything else is ignored.
import type { Context } from "probot";
import { CheckRuns } from "../github/checks.js";
import { coordsOf } from "./context.js";
import { configFailure, deployBranches, loadConfig } from "./config.js";

export async function onPush(context: Context<"push">): Promise<void> {
  const { payload } = context;
  if (payload.deleted || !payload.ref.startsWith("refs/heads/")) return;
  const branch = payload.ref.slice("refs/heads/".length);
  const coords = coordsOf(context);
  const sha = payload.after;

  const loaded = await loadConfig(context.octokit, coords, sha);
  if (loaded.status === "absent") return;
  const checks = new CheckRuns(context.octokit, coords);
  if (loaded.status === "invalid") {
    // Which branches deploy is itself in the broken file: report where it matters most, the default branch
    // and any branch the raw file names.
    if (!claimsBranch(loaded.raw, branch, payload.repository.default_branch)) return;
    await checks.completed(sha, "failure", configFailure(loaded.errors));
    context.log.info({ branch, sha }, "invalid config reported");
    return;
  }
  const { config } = loaded;
  if (!deployBranches(config, payload.repository.default_branch).includes(branch)) return;

  if (!config.build.workflow) {
    // The App learns that images exist from this workflow's workflow_run: without it nothing would
    // ever deploy and the check would wait forever.
    await checks.completed(
      sha,
      "failure",
      configFailure([
        {
          path: "build.workflow",
          message:
            'is required by the App: the file name of the workflow that builds the images, e.g. "images.yml"',
        },
      ]),
    );
    return;
  }
  const checkId = await checks.ensure(sha, "queued", {
    title: "Waiting for the build",
    summary:
      config.build.trigger === "dispatch"
        ? `Dispatched \`${config.build.workflow}\` for ${sha.slice(0, 7)} on \`${branch}\`; the plan follows when it succeeds.`
        : `Waiting for \`${config.build.workflow}\` to finish for ${sha.slice(0, 7)} on \`${branch}\`.`,
  });
  if (config.build.trigger === "dispatch") {
    const failure = await dispatch(
      context.octokit,
      { ...coords, workflow_id: config.build.workflow, ref: branch },
      sha,
    );
    if (failure) {
      await checks.complete(checkId, "failure", {
        title: "Could not dispatch the build",
        summary: `Dispatching \`${config.build.workflow}\` on \`${branch}\` failed: ${failure}\n\nNothing was planned or changed. Re-run this check once the workflow can be dispatched (it needs \`on: workflow_dispatch\`).`,
      });
      return;
    }
  }
  context.log.info({ branch, sha, trigger: config.build.trigger }, "deploy push queued");
}

/**
 * Dispatches the build with `inputs.sha` so the workflow can build that exact commit. A workflow that
 * declares no `sha` input makes GitHub refuse the call (422): it is then dispatched without inputs,
 * building the branch head, which is the pushed commit unless another push followed.
 * Returns the reason when it could not be dispatched at all.
 */
async function dispatch(
  octokit: Context<"push">["octokit"],
  request: { owner: string; repo: string; workflow_id: string; ref: string },
  sha: string,
) {
  try {
    await octokit.rest.actions.createWorkflowDispatch({ ...request, inputs: { sha } });
    return null;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 422 && /input/i.test((error as Error).message)) {
      try {
        await octokit.rest.actions.createWorkflowDispatch(request);
        return null;
      } catch (retry) {
        return (retry as Error).message;
      }
    }
    if (status === undefined || status >= 500) throw error; // transient: let the delivery fail and be retried
    return (error as Error).message;
  }
}

function claimsBranch(raw: unknown, branch: string, defaultBranch: string): boolean {
  if (branch === defaultBranch) return true;
  const branches =
    typeof raw === "object" && raw !== null ? (raw as { branches?: unknown }).branches : undefined;
  return Array.isArray(branches) && branches.includes(branch);
}
