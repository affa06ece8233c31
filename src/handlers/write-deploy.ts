// A deploy's writes, in the order that keeps GitHub consistent when one of them fails: the commit and the
// branch (github/commit.ts: a new branch is created, then committed on, and deleted again if that fails; an
// existing one gets a tree and a commit on no branch, then moves by compare-and-swap), the PR's title and body, the sticky
// comment; then the labels and the release draft, which say nothing about what the branch holds. The open
// PR's text and comment must always describe what its branch merges: when the PR text or an existing
// comment cannot be updated after the branch moved, the PR text and the branch are put back (the branch by
// compare-and-swap, so a branch someone moved since is left alone). Every write goes through the run's
// journal, which the failure report is made of.
import { describeGitHubError } from "../github/errors.js";
import type { WriteJournal } from "../github/journal.js";
import { MissingPermissionError } from "../github/permissions.js";
import { type BranchMove, branchSteps, revertDeployBranch, writeDeployBranch } from "../github/commit.js";
import { StickyComment } from "../github/comment.js";
import { type PullRequestInfo, PullRequests } from "../github/pr.js";
import { DraftReleases } from "../github/release.js";
import type { BranchState, FileChange, GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";

/** A deploy that stopped: the cause, and the report of what it had written (from its journal). */
export class DeployFailedError extends Error {
  readonly report: string;
  constructor(
    override readonly cause: unknown,
    journal: WriteJournal,
  ) {
    const report = cause instanceof MissingPermissionError ? "" : journal.report();
    const what = cause instanceof MissingPermissionError ? cause.message : describeGitHubError(cause);
    super(report ? `${what}\n\n${report}` : what);
    this.name = "DeployFailedError";
    this.report = report;
    // GitHub's status and the request (its credential already redacted by Octokit), for loggers.
    const { status, request } = (cause ?? {}) as { status?: unknown; request?: unknown };
    if (status !== undefined) Object.assign(this, { status });
    if (request !== undefined) Object.assign(this, { request });
  }
}

export interface DeployWrites {
  octokit: Octokit;
  coords: RepoCoords;
  repo: GitHubRepo;
  state: BranchState & { base: NonNullable<BranchState["base"]> };
  /** The deploy branch the PR targets, and the PR branch. */
  base: string;
  prBranch: string;
  changes: FileChange[];
  message: string;
  pr: { title: string; body: string; labels: string[]; comment: string };
  /** The release draft, when `release_notes.github_release: draft`. */
  release: { sha: string; name: string; body: string } | null;
  open: PullRequestInfo | null;
}

/** `untouched`: this run neither read nor wrote it (it says what it said before the run, if it exists). */
type Describes = "new" | "old" | "none" | "unknown" | "untouched";

/** Writes a deploy's commit, PR, comment, labels and release draft; on failure, leaves GitHub consistent. */
export async function writeDeployInOrder(
  w: DeployWrites,
  journal: WriteJournal,
): Promise<{ committed: boolean; pr: { number: number; url: string; action: string } }> {
  const { open } = w;
  journal.plan([
    ...branchSteps(w.state, w.changes, w.prBranch),
    { key: "pr", label: open ? `PR #${open.number}'s title and body` : "the deploy PR" },
    { key: "comment", label: "the sticky comment" },
    { key: "labels", label: "the labels" },
    ...(w.release ? [{ key: "release", label: "the release draft" }] : []),
  ]);
  // What the branch, the PR text and the comment describe: the new plan, the previous one, or nothing.
  const facts = {
    branch: "old" as Describes,
    text: (open ? "old" : "none") as Describes,
    comment: "none" as Describes,
  };
  let move: BranchMove | null = null;
  const pulls = new PullRequests(w.octokit, w.coords);
  const sticky = new StickyComment(w.octokit, w.coords);
  // Read while the commit is written (it does not depend on it); a PR this run opens has no comment yet.
  const existing = open ? sticky.find(open.number) : Promise.resolve(null);
  existing.catch(() => undefined); // awaited below; a failure there is the run's, not an unhandled one
  let pr: { number: number; url: string; action: string } | undefined;
  try {
    move = await writeDeployBranch(
      w.repo,
      w.state,
      { branch: w.prBranch, changes: w.changes, message: w.message },
      journal,
    );
    facts.branch = "new";
    pr = await journal.write(
      "pr",
      () =>
        pulls.upsert({ existing: open, head: w.prBranch, base: w.base, title: w.pr.title, body: w.pr.body }),
      (r) => ({
        label: r.action === "created" ? `PR #${r.number} opened` : `PR #${r.number}'s title and body`,
        unchanged: r.action === "unchanged",
      }),
    );
    facts.text = "new";
    facts.comment = open ? "unknown" : "none";
    const found = await existing;
    facts.comment = found ? "old" : "none";
    const number = pr.number;
    await journal.write(
      "comment",
      () => sticky.write(number, found, w.pr.comment),
      (r) => ({ unchanged: r.action === "unchanged" }),
    );
    facts.comment = "new";
  } catch (error) {
    await putBack(w, journal, facts, move, pulls);
    journal.verdict = verdict(facts, w.prBranch, pr?.number ?? open?.number ?? null);
    throw error;
  }
  // From here on the branch, the PR text and the comment agree: a failure leaves them as they are.
  try {
    await journal.write("labels", () => pulls.addLabels(pr.number, open?.labels ?? [], w.pr.labels));
    const release = w.release;
    if (release)
      await journal.write("release", () =>
        new DraftReleases(w.octokit, w.coords).upsert(release.sha, release.name, release.body),
      );
  } catch (error) {
    journal.verdict = verdict(facts, w.prBranch, pr.number);
    throw error;
  }
  return { committed: move !== null, pr };
}

/**
 * After the branch moved, the PR text or an existing comment could not be made to describe it: put the
 * PR text back (when this run changed it) and the branch (when this run moved it), so all describe the
 * previous commit again. A new PR whose comment is missing says nothing false and is left.
 */
async function putBack(
  w: DeployWrites,
  journal: WriteJournal,
  facts: { branch: Describes; text: Describes; comment: Describes },
  move: BranchMove | null,
  pulls: PullRequests,
): Promise<void> {
  const stale = (d: Describes) => d === "old" || d === "unknown" || d === "untouched";
  const lagging = facts.branch === "new" && (stale(facts.text) || stale(facts.comment));
  if (!lagging || !move || !w.open) return;
  if (facts.text === "new" && journal.holds("pr")) {
    try {
      await pulls.restoreText(w.open);
      journal.record({ key: "pr", label: `PR #${w.open.number}'s title and body`, state: "reverted" });
      facts.text = "old";
    } catch (error) {
      journal.record({
        key: "pr",
        label: `PR #${w.open.number}'s title and body`,
        state: "revert-failed",
        detail: describeGitHubError(error),
      });
      return;
    }
  }
  if (await revertDeployBranch(w.repo, w.state.repositoryId, move, journal)) facts.branch = "old";
}

/** Whether the open PR's text and comment describe what its branch holds, from what was written. */
function verdict(
  facts: { branch: Describes; text: Describes; comment: Describes },
  branch: string,
  number: number | null,
): string {
  const held = facts.branch === "new" ? "this deploy's changes" : "what it held before this run";
  if (facts.text === "none")
    return `GitHub is consistent: branch \`${branch}\` holds ${held} and no deploy PR is open to describe it; the next run opens it.`;
  const parts: string[] = [];
  const agree: string[] = [];
  (facts.text === facts.branch ? agree : parts).push(`PR #${number}'s title and body`);
  if (facts.comment === "untouched") {
    if (facts.branch !== "old") parts.push("its sticky comment (not updated)");
  } else if (facts.comment !== "none")
    (facts.comment === facts.branch ? agree : parts).push("its sticky comment");
  if (parts.length === 0)
    return `GitHub is consistent: branch \`${branch}\` holds ${held}, and ${agree.join(" and ")} describe it${facts.comment === "none" ? " (no sticky comment yet)" : facts.comment === "untouched" ? " (its comment was not touched)" : ""}.`;
  return `GitHub is NOT consistent: branch \`${branch}\` holds ${held}, but ${parts.join(" and ")} ${facts.comment === "unknown" ? "may " : ""}describe another. Re-run this check (or the workflow job) to write them again.`;
}
