// The App's decisions after a plan, as pure functions: when the deploy PR is closed, what happens when a
// person pushed to the deploy branch.
import { describe, expect, it } from "vitest";
import type { DeployResult } from "../../src/core/ports.js";
import { STATUSES, type ServiceStatus } from "../../src/core/plan.js";
import type { BranchState } from "../../src/github/repo.js";
import { closeComment, decide, finalCheck, shouldClosePr } from "../../src/handlers/decisions.js";

const SHA = "2".repeat(40);
const BASE = "1".repeat(40);

function result(input: {
  files?: number;
  counts?: Partial<Record<ServiceStatus, number>>;
  fileErrors?: number;
  configProblems?: number;
}) {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, input.counts?.[s] ?? 0])) as Record<
    ServiceStatus,
    number
  >;
  return {
    plan: {
      build: { sha: SHA, branch: "main" },
      tag: SHA,
      services: [
        { name: "apple", image: "r/apple", status: "unchanged", old: { digest: "sha256:a" }, next: null },
        {
          name: "banana",
          image: "r/banana",
          status: "moved",
          old: { digest: "sha256:b" },
          next: { digest: "sha256:c" },
        },
        { name: "cherry", image: "r/cherry", status: "not-built", old: { digest: null }, next: null },
      ],
      fileErrors: Array.from({ length: input.fileErrors ?? 0 }, () => ({ path: "x", message: "y" })),
      unknownSites: [],
      configProblems: Array.from({ length: input.configProblems ?? 0 }, () => ({
        key: "jobs[0]",
        message: "y",
      })),
      counts,
    },
    files: Array.from({ length: input.files ?? 0 }, (_, i) => ({ path: `f${i}`, after: "", edits: [] })),
    releaseNotes: "## notes\n",
    commits: {},
    prTitle: "Deploy banana",
    prBody: "",
    comment: "",
    check: { conclusion: "success", title: "1 moved", summary: "table\n" },
    registry: [],
  } as unknown as DeployResult;
}

const botHead: BranchState["head"] = {
  sha: "h",
  tree: "t",
  parents: [BASE],
  build: SHA,
  ownedByBot: true,
  addsNothing: false,
};
const humanHead: BranchState["head"] = { ...botHead, build: null, ownedByBot: false };

describe("decide", () => {
  it("closes an open PR only when nothing moved, the plan is complete and the branch is the bot's", () => {
    expect(decide(result({}), botHead, true)).toEqual({ kind: "nothing-moved", closePr: true });
    expect(decide(result({}), null, true)).toEqual({ kind: "nothing-moved", closePr: true });
    expect(decide(result({}), botHead, false)).toEqual({ kind: "nothing-moved", closePr: false });
    expect(decide(result({}), humanHead, true)).toEqual({ kind: "nothing-moved", closePr: false });
    for (const status of ["error", "not-built", "stale", "unverified", "awaiting"] as const)
      expect(decide(result({ counts: { [status]: 1 } }), botHead, true)).toEqual({
        kind: "nothing-moved",
        closePr: false,
      });
    expect(shouldClosePr(result({ fileErrors: 1 }).plan, botHead)).toBe(false);
    // A config key that selects nothing: "nothing moved" proves nothing, the PR stays open.
    expect(shouldClosePr(result({ configProblems: 1 }).plan, botHead)).toBe(false);
  });

  it("never writes over a branch someone else committed to", () => {
    expect(decide(result({ files: 1 }), humanHead, true)).toEqual({ kind: "human-branch" });
    expect(decide(result({ files: 1 }), botHead, true)).toEqual({ kind: "write" });
    expect(decide(result({ files: 1 }), null, false)).toEqual({ kind: "write" });
  });

  it("writes over a branch with no commits of its own (created for a commit that never came)", () => {
    expect(decide(result({ files: 1 }), { ...humanHead, addsNothing: true }, false)).toEqual({
      kind: "write",
    });
    expect(decide(result({ files: 1 }), { ...humanHead, addsNothing: false }, false)).toEqual({
      kind: "human-branch",
    });
  });
});

it("says why a PR is closed and what the check run adds", () => {
  expect(closeComment("main", BASE, SHA)).toBe(
    "No image moved compared with `main` at 1111111 (build 2222222): this deploy PR is no longer needed.",
  );
  expect(finalCheck(result({}), { closed: 12 }).summary).toBe(
    "table\n\nClosed #12: nothing left to deploy.\n",
  );
  expect(finalCheck(result({}), { written: 12 }).summary).toBe("table\n\nDeploy PR: #12 (1 image).\n");
  expect(finalCheck(result({}), null)).toEqual({ title: "1 moved", summary: "table\n" });
});
