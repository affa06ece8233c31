// What the App decides after a deploy was planned, as pure functions of the plan and of what GitHub
// holds (the branch heads, the open PR). deploy.ts only carries these decisions out.
import type { DeployResult } from "../core/ports.js";
import type { Plan } from "../core/plan.js";
import { changing, planComplete } from "../core/plan.js";
import { shortSha } from "../core/templates.js";
import type { CheckOutput } from "../github/checks.js";
import type { BranchState } from "../github/repo.js";

/** What a planned (not skipped) deploy does with the PR. */
export type Decision =
  /** No file changes: nothing to commit; close the open deploy PR when it is provably no longer needed. */
  | { kind: "nothing-moved"; closePr: boolean }
  /** The PR branch has commits someone else made: show what would change, never overwrite. */
  | { kind: "human-branch" }
  /** Commit, then PR, labels, comment, release draft. */
  | { kind: "write" };

export function decide(result: DeployResult, head: BranchState["head"], hasOpenPr: boolean): Decision {
  if (result.files.length === 0)
    return { kind: "nothing-moved", closePr: hasOpenPr && shouldClosePr(result.plan, head) };
  // A branch with no commits of its own (e.g. one the bot created for a commit that never came) loses
  // nothing when written over.
  if (head && !head.ownedByBot && !head.addsNothing) return { kind: "human-branch" };
  return { kind: "write" };
}

/**
 * An open deploy PR is closed when nothing moved only if the plan is complete (a registry or file error
 * may hide a move the PR still carries) and the branch is the bot's own (a PR someone added commits to is
 * theirs to close).
 */
export function shouldClosePr(plan: Plan, head: BranchState["head"]): boolean {
  return planComplete(plan) && (!head || head.ownedByBot);
}

export function closeComment(branch: string, baseSha: string, sha: string): string {
  return `No image moved compared with \`${branch}\` at ${shortSha(baseSha)} (build ${shortSha(sha)}): this deploy PR is no longer needed.`;
}

/** The sticky comment (and check summary) when someone else's commits are on the PR branch. */
export function humanBranchNote(prBranch: string, sha: string, result: DeployResult): string {
  return [
    `> [!WARNING]`,
    `> \`${prBranch}\` has commits nomad-gitops did not make, so it was **not** updated. This is what the build of ${shortSha(sha)} would change:`,
    "",
    result.comment.trimEnd(),
    "",
    "Files it would rewrite: " + result.files.map((f) => `\`${f.path}\``).join(", "),
    "",
    `Delete the branch, or merge the PR (merging deletes it), to let the bot take it over again.`,
  ].join("\n");
}

export function humanBranchCheck(prBranch: string, note: string, result: DeployResult): CheckOutput {
  return {
    title: `Not written: ${prBranch} was changed by someone else`,
    summary: `${note}\n\n${result.check.summary}`,
  };
}

export function skippedCheck(result: DeployResult): CheckOutput {
  return { title: "Skipped: an older build", summary: `${result.skipped}\n\n${result.check.summary}` };
}

export function branchMissingCheck(branch: string, sha: string): CheckOutput {
  return {
    title: `Branch ${branch} no longer exists`,
    summary: `The deploy branch \`${branch}\` was deleted before the build of ${shortSha(sha)} finished.`,
  };
}

/** The plan's check output, plus what happened to the PR. */
export function finalCheck(
  result: DeployResult,
  pr: { closed: number } | { written: number } | null,
): CheckOutput {
  let tail = "";
  if (pr && "closed" in pr) tail = `\nClosed #${pr.closed}: nothing left to deploy.\n`;
  if (pr && "written" in pr) {
    const n = changing(result.plan).length;
    tail = `\nDeploy PR: #${pr.written} (${n} image${n === 1 ? "" : "s"}).\n`;
  }
  return { title: result.check.title, summary: result.check.summary + tail };
}
