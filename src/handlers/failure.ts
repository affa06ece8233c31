// A delivery's work failed after the webhook was answered: GitHub already saw a success, so the failure
// must show where people look, as a failed `nomad-gitops` check run with the reason on the commit the
// event is about. A deploy that failed has completed its own run already (deploy.ts); that run is found
// and nothing more is written.
import type { Context } from "probot";
import { type Attempt, CheckRuns } from "../github/checks.js";
import { GitHubRepo } from "../github/repo.js";
import { coordsOf } from "./context.js";
import { DeployFailedError, describeError } from "./deploy.js";

/** The commit an event is about, and the attempt that owns its check run (when the event has one). */
interface Target {
  sha: string;
  attempt?: Attempt;
}

type Payload = Record<string, unknown> & {
  repository?: { default_branch?: string };
};

function targetOf(name: string, payload: Payload): Target | "default-branch" | null {
  const p = payload as Record<string, Record<string, unknown> | undefined> & Payload;
  switch (name) {
    case "push": {
      const after = payload.after;
      return typeof after === "string" && !payload.deleted ? { sha: after, attempt: { kind: "push" } } : null;
    }
    case "workflow_run": {
      const run = p.workflow_run as { id: number; run_attempt?: number; head_sha: string } | undefined;
      return run
        ? { sha: run.head_sha, attempt: { kind: "build", runId: run.id, attempt: run.run_attempt ?? 1 } }
        : null;
    }
    case "check_run": {
      const run = p.check_run as { id: number; head_sha: string } | undefined;
      return run ? { sha: run.head_sha, attempt: { kind: "rerun", checkRunId: run.id } } : null;
    }
    case "pull_request": {
      const pr = p.pull_request as {
        merge_commit_sha?: string | null;
        merged?: boolean;
        head: { sha: string };
      };
      if (!pr) return null;
      return { sha: pr.merged && pr.merge_commit_sha ? pr.merge_commit_sha : pr.head.sha };
    }
    // The queue's trial merge waits for its check: a failure there drops the PR with the reason, not a timeout.
    case "merge_group": {
      const group = p.merge_group as { head_sha?: string } | undefined;
      return group?.head_sha ? { sha: group.head_sha } : null;
    }
    // A dashboard request is about the default branch.
    case "issues":
      return "default-branch";
    default:
      return null;
  }
}

/**
 * Reports `error` as a failed check run on the event's commit. Returns false when the event names no
 * commit (nothing to report on); throws when GitHub refuses the report (the ledger then keeps the
 * delivery, to be tried again).
 */
export async function reportFailure(context: Context, error: unknown): Promise<boolean> {
  const payload = context.payload as Payload;
  const found = targetOf(context.name, payload);
  if (found === null) return false;
  const coords = coordsOf(context);
  let target: Target;
  if (found === "default-branch") {
    const branch = payload.repository?.default_branch;
    if (!branch) return false;
    const state = await new GitHubRepo(context.octokit, coords).branches(branch, branch);
    if (!state.base) return false;
    target = { sha: state.base.sha };
  } else {
    target = found;
  }
  const checks = new CheckRuns(context.octokit, coords);
  const output = {
    title: "The App could not finish this event",
    summary: [
      `The \`${context.name}\` delivery \`${context.id}\` was accepted, then its work failed.`,
      // Only a deploy keeps a record of its writes; for other work nothing is claimed about them.
      ...(error instanceof DeployFailedError && error.report ? ["", error.report] : []),
      "",
      "```",
      describeError(error),
      "```",
      "",
      "Re-run this check to try again.",
    ].join("\n"),
  };
  if (target.attempt) {
    // The attempt's own run: completed by the deploy already (a skip), else completed now.
    await checks.finish(target.sha, target.attempt, "failure", output);
  } else {
    await checks.completed(target.sha, "failure", output);
  }
  return true;
}
