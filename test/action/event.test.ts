// The event file the runner writes (GITHUB_EVENT_PATH) is read through a schema: the fields the Action
// uses are checked, a file that does not fit is not used (the inputs and GITHUB_* variables decide).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseActionEvent } from "../../src/action/event.js";
import { readInputs } from "../../src/action/run.js";

const SHA = "a".repeat(40);
const OTHER = "b".repeat(40);
const dir = mkdtempSync(path.join(tmpdir(), "nomad-gitops-event-test-"));

async function inputsFor(eventText: string) {
  const file = path.join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, eventText);
  return readInputs({
    INPUT_TOKEN: "t",
    GITHUB_EVENT_PATH: file,
    GITHUB_SHA: OTHER,
    GITHUB_REF_NAME: "fallback",
  });
}

describe("the Action's event file", () => {
  it("takes the build commit, branch and time from a workflow_run event, keeping the fields it does not read", async () => {
    const event = {
      action: "completed",
      workflow_run: {
        id: 7,
        head_sha: SHA,
        head_branch: "main",
        head_commit: { id: SHA, timestamp: "2026-11-29T12:00:00Z" },
      },
    };
    expect(parseActionEvent(JSON.stringify(event))).toEqual(event);
    const inputs = await inputsFor(JSON.stringify(event));
    expect(inputs).toMatchObject({ sha: SHA, branch: "main", date: new Date("2026-11-29T12:00:00Z") });
  });

  it("accepts a push that deletes a branch (head_commit: null) and falls back to GITHUB_SHA", async () => {
    const inputs = await inputsFor(JSON.stringify({ ref: "refs/heads/x", head_commit: null }));
    expect(inputs.sha).toBe(OTHER);
    expect(inputs.branch).toBe("fallback");
    expect(inputs.date).toBeUndefined();
  });

  it("does not use a file that is not JSON, or whose fields have the wrong types", async () => {
    expect(() => parseActionEvent("{ not json")).toThrow(SyntaxError);
    const wrong = JSON.stringify({ workflow_run: { head_sha: 42, head_branch: "main" } });
    expect(() => parseActionEvent(wrong)).toThrow(/head_sha/);
    for (const text of ["{ not json", wrong, "[1, 2]"]) {
      const inputs = await inputsFor(text);
      expect(inputs).toMatchObject({ sha: OTHER, branch: "fallback" });
    }
  });
});
