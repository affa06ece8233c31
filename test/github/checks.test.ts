// Which check run an attempt works in: the state lives in GitHub (each run's external_id), so any replica,
// after any restart, decides the same.
import { describe, expect, it } from "vitest";
import { type FoundCheckRun, attemptKey, claimCheckRun } from "../../src/github/checks.js";

const run = (id: number, status: string, externalId = ""): FoundCheckRun => ({
  id,
  status,
  conclusion: status === "completed" ? "failure" : null,
  externalId,
  title: null,
  summary: null,
});
const build = (runId: number, attempt: number) => ({ kind: "build" as const, runId, attempt });
const key = (runId: number, attempt: number) => attemptKey(build(runId, attempt));

describe("claimCheckRun", () => {
  it("takes the push's waiting run, or one without an attempt, and creates one when there is none", () => {
    expect(claimCheckRun([run(1, "queued", attemptKey({ kind: "push" }))], build(9, 1))).toEqual({
      kind: "take",
      id: 1,
    });
    expect(claimCheckRun([run(1, "queued")], build(9, 1))).toEqual({ kind: "take", id: 1 });
    expect(claimCheckRun([], build(9, 1))).toEqual({ kind: "create" });
  });

  it("never reuses a completed run for another attempt or run", () => {
    expect(claimCheckRun([run(1, "completed", key(9, 1))], build(9, 2))).toEqual({ kind: "create" });
    expect(claimCheckRun([run(1, "completed", key(9, 1))], build(10, 1))).toEqual({ kind: "create" });
    expect(claimCheckRun([run(1, "completed", attemptKey({ kind: "push" }))], build(9, 1))).toEqual({
      kind: "create",
    });
    // Another attempt's run still in progress is that attempt's: not taken over.
    expect(claimCheckRun([run(1, "in_progress", key(9, 1))], build(9, 2))).toEqual({ kind: "create" });
  });

  it("a redelivery finds its own run: done when completed, resumed when not", () => {
    expect(claimCheckRun([run(1, "completed", key(9, 1))], build(9, 1))).toEqual({ kind: "done", id: 1 });
    expect(claimCheckRun([run(1, "in_progress", key(9, 1))], build(9, 1))).toEqual({ kind: "resume", id: 1 });
    const rerun = { kind: "rerun" as const, checkRunId: 1 };
    expect(claimCheckRun([run(2, "completed", attemptKey(rerun))], rerun)).toEqual({ kind: "done", id: 2 });
  });

  it("an attempt older than one already reported is superseded, whatever the order of delivery", () => {
    expect(claimCheckRun([run(2, "completed", key(9, 2))], build(9, 1))).toEqual({
      kind: "superseded",
      id: 2,
    });
    expect(claimCheckRun([run(2, "in_progress", key(10, 1))], build(9, 3))).toEqual({
      kind: "superseded",
      id: 2,
    });
  });

  it("a re-run from the Checks tab always gets its own run", () => {
    expect(claimCheckRun([run(1, "queued")], { kind: "rerun", checkRunId: 1 })).toEqual({ kind: "create" });
  });
});
