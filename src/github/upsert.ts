// The one way the bot writes something GitHub may already hold (a comment, the PR, a draft release, a
// check run): find it, compare it with what it should say, and write only the difference. A redelivered
// event therefore finds everything in place and sends nothing.

export type UpsertAction = "created" | "updated" | "unchanged";

export interface Upsert<Found, Want, Result> {
  /** What GitHub holds now, or null. */
  find(): Promise<Found | null> | Found | null;
  /** True when `found` already says what `want` says: nothing is written. */
  same(found: Found, want: Want): boolean;
  create(want: Want): Promise<Result>;
  /**
   * Edits `found` in place. Left out where GitHub's object must not be edited once settled (a completed
   * check run): a different one is then created beside it.
   */
  update?(found: Found, want: Want): Promise<Result>;
  /** The result for an object left as it is. */
  keep(found: Found): Result;
}

export async function upsert<Found, Want, Result>(
  spec: Upsert<Found, Want, Result>,
  want: Want,
): Promise<{ action: UpsertAction; result: Result }> {
  const found = await spec.find();
  if (found === null) return { action: "created", result: await spec.create(want) };
  if (spec.same(found, want)) return { action: "unchanged", result: spec.keep(found) };
  if (!spec.update) return { action: "created", result: await spec.create(want) };
  return { action: "updated", result: await spec.update(found, want) };
}
