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

  if (config.build.trigger === "dispatch") {
    if (!config.build.workflow) {
      await checks.completed(
        sha,
        "failure",
        configFailure([{ path: "build.workflow", message: "is required when build.trigger is dispatch" }]),
      );
      return;
    }
    await checks.ensure(sha, "queued", {
      title: "Waiting for the build",
      summary: `Dispatched \`${config.build.workflow}\` for ${sha.slice(0, 7)} on \`${branch}\`; the plan follows when it succeeds.`,
    });
    await context.octokit.rest.actions.createWorkflowDispatch({
      ...coords,
      workflow_id: config.build.workflow,
      ref: branch,
      inputs: { sha },
    });
  } else {
    await checks.ensure(sha, "queued", {
      title: "Waiting for the build",
      summary: config.build.workflow
        ? `Waiting for \`${config.build.workflow}\` to finish for ${sha.slice(0, 7)} on \`${branch}\`.`
        : `Waiting for the build of ${sha.slice(0, 7)} on \`${branch}\` (set \`build.workflow\` so the bot knows which one).`,
    });
  }
  context.log.info({ branch, sha, trigger: config.build.trigger }, "deploy push queued");
}

function claimsBranch(raw: unknown, branch: string, defaultBranch: string): boolean {
  if (branch === defaultBranch) return true;
  const branches =
    typeof raw === "object" && raw !== null ? (raw as { branches?: unknown }).branches : undefined;
  return Array.isArray(branches) && branches.includes(branch);
}
