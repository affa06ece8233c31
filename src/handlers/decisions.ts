// What the App decides after a deploy was planned, as pure functions of the plan and of what GitHub
// holds (the branch heads, the open PR). deploy.ts only carries these decisions out.
import type { DeployResult } from "../core/ports.js";
import type { Plan } from "../core/plan.js";
import { changing, planComplete } from "../core/plan.js";
import { shortSha } from "../core/templates.js";
import { runName } from "../provenance/describe.js";
import type { CheckOutput } from "../github/checks.js";
import { releaseMarker } from "../github/release.js";
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

/**
 * The draft release of a build (`release_notes.github_release: draft`): every service's digest, moved or
 * not, so anyone can rebuild the commit and compare; then this deploy's release notes, which say who built
 * and attested each pinned digest. A digest that failed provenance is not this build's image: the row
 * keeps the pinned digest and says why.
 */
export function releaseDraft(
  build: { sha: string; branch: string },
  result: DeployResult,
): { name: string; body: string } {
  const attested = result.plan.services.some((s) => s.provenance);
  const rows = result.plan.services.map((s) => {
    const v = s.provenance;
    const refused = v?.status === "unverified";
    const digest = refused ? s.old.digest : (s.next?.digest ?? s.old.digest);
    const status = refused ? `unverified, not pinned (${v.check})` : s.status;
    const run = v?.status === "verified" && v.link ? `[${runName(v.link)}](${v.link})` : "—";
    return `| ${s.name} | \`${s.image}\` | ${digest ? `\`${digest}\`` : "—"} | ${status} |${attested ? ` ${run} |` : ""}`;
  });
  const body = [
    releaseMarker(build.sha),
    `Images of \`${build.branch}\` at ${build.sha}. Rebuild that commit and compare these digests to check that the build is reproducible.`,
    "",
    `| service | image | digest | status |${attested ? " build run |" : ""}`,
    `|---|---|---|---|${attested ? "---|" : ""}`,
    ...rows,
    "",
    result.releaseNotes.trim(),
    "",
  ].join("\n");
  return { name: `Deploy ${shortSha(build.sha)}: ${result.prTitle}`, body };
}
