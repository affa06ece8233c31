// The JobModifyIndex each job had when the deploy PR's plan preview ran, carried to the merge in a hidden
// marker in the PR body (the merge webhook brings the body along: no extra request). The merge then
// submits with EnforceIndex and that index, so a job a person changed between preview and merge is
// refused by Nomad instead of overwritten.

const MARKER = /<!-- nomad-gitops:plan-index ((?:[^\s=>]+=\d+ ?)*)-->/;

/** The hidden marker for the PR body ("" when no plan returned an index). */
export function planIndexMarker(indexes: ReadonlyMap<string, number>): string {
  if (indexes.size === 0) return "";
  const pairs = [...indexes]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([job, index]) => `${encodeURIComponent(job)}=${index}`);
  return `<!-- nomad-gitops:plan-index ${pairs.join(" ")} -->`;
}

/** Job ID → the index the preview saw, from a PR body; empty when the body has no (valid) marker. */
export function readPlanIndexes(body: string | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const m = MARKER.exec(body ?? "");
  if (!m) return out;
  for (const pair of m[1]!.trim().split(" ").filter(Boolean)) {
    const eq = pair.lastIndexOf("=");
    try {
      const index = Number(pair.slice(eq + 1));
      if (Number.isSafeInteger(index)) out.set(decodeURIComponent(pair.slice(0, eq)), index);
    } catch {
      // A malformed escape (a person edited the marker): that job falls back to the merge-time plan.
    }
  }
  return out;
}
