// A record of a deploy's writes to GitHub, kept as they happen: a failure report says what was written,
// what failed, what was put back and what was never tried, from this record rather than from a sentence
// fixed in advance.
import { describeGitHubError } from "./errors.js";

export type WriteState = "written" | "unchanged" | "failed" | "reverted" | "revert-failed";

export interface JournalEntry {
  key: string;
  /** What was written, for a person: "commit `abc1234`", "PR #3's title and body". */
  label: string;
  state: WriteState;
  /** The error, for a failed write or revert. */
  detail?: string;
}

export class WriteJournal {
  readonly entries: JournalEntry[] = [];
  #planned: Array<{ key: string; label: string }> = [];
  /** Whether GitHub is consistent after a failure, said by the writer that knows the order (deploy.ts). */
  verdict: string | undefined;

  /** The writes this run means to make, in order: those never reached are listed as not written. */
  plan(steps: Array<{ key: string; label: string }>): void {
    this.#planned = steps;
    this.verdict = undefined;
  }

  /** Runs one write and records how it went; `label` may name what the write returned. */
  async write<T>(
    key: string,
    run: () => Promise<T>,
    describe?: (result: T) => { label?: string; unchanged?: boolean },
  ): Promise<T> {
    const planned = this.#planned.find((p) => p.key === key)?.label ?? key;
    try {
      const result = await run();
      const seen = describe?.(result) ?? {};
      this.entries.push({
        key,
        label: seen.label ?? planned,
        state: seen.unchanged ? "unchanged" : "written",
      });
      return result;
    } catch (error) {
      this.entries.push({ key, label: planned, state: "failed", detail: describeGitHubError(error) });
      throw error;
    }
  }

  /** Records a write made elsewhere (or put back): `reverted` / `revert-failed` after a later failure. */
  record(entry: JournalEntry): void {
    this.entries.push(entry);
  }

  /** Whether `key` was written in this run (and not put back since). */
  holds(key: string): boolean {
    const last = [...this.entries].reverse().find((e) => e.key === key);
    return last?.state === "written" || last?.state === "revert-failed";
  }

  /** Planned writes that were never tried. */
  notTried(): string[] {
    const tried = new Set(this.entries.map((e) => e.key));
    return this.#planned.filter((p) => !tried.has(p.key)).map((p) => p.label);
  }

  /** The report of a failed run, as markdown lines. */
  report(): string {
    if (this.entries.length === 0)
      return (
        this.verdict ??
        "No write to the repository, the deploy PR or its comment was made before the failure."
      );
    const words: Record<WriteState, string> = {
      written: "written",
      unchanged: "already so, not written",
      failed: "**failed**",
      reverted: "put back",
      "revert-failed": "**could not be put back**",
    };
    const lines = ["What this run wrote to GitHub before it stopped:", ""];
    for (const e of this.entries)
      lines.push(`- ${e.label}: ${words[e.state]}${e.detail ? ` (${e.detail})` : ""}`);
    const never = this.notTried();
    if (never.length > 0) lines.push(`- not tried: ${never.join(", ")}`);
    if (this.verdict) lines.push("", this.verdict);
    return lines.join("\n");
  }
}
