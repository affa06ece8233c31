// One-edit mutations of a job file, from a seed: the same seed gives the same edits on every machine,
// so a disagreement found by scripts/fuzz-verdicts.ts can be replayed, and the differential test in
// test/jobfile/strict-fuzz.test.ts sees the same files on every run.

/** Characters inserted: HCL's punctuation, its newline, and some that are never valid outside strings. */
const INSERTED = "{}[]()\"=,#$%<>\n:.?*/\\-+ab1 \t~!&|'";

/** A linear congruential generator: small, and the same sequence in every JS engine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

export type MutationKind = "delete char" | "insert char" | "duplicate line" | "delete line" | "swap lines";

export interface Mutation {
  kind: MutationKind;
  text: string;
}

/** One random edit of `text`: a character deleted or inserted, or a line duplicated, deleted or swapped. */
export function mutate(text: string, random: () => number): Mutation {
  const pick = (n: number) => Math.floor(random() * n);
  const kind = pick(5);
  const at = pick(text.length);
  if (kind === 0) return { kind: "delete char", text: text.slice(0, at) + text.slice(at + 1) };
  if (kind === 1) {
    return {
      kind: "insert char",
      text: text.slice(0, at) + INSERTED[pick(INSERTED.length)] + text.slice(at),
    };
  }
  const lines = text.split("\n");
  const line = pick(lines.length);
  if (kind === 2) {
    lines.splice(line, 0, lines[line]!);
    return { kind: "duplicate line", text: lines.join("\n") };
  }
  if (kind === 3) {
    lines.splice(line, 1);
    return { kind: "delete line", text: lines.join("\n") };
  }
  const other = pick(lines.length);
  [lines[line], lines[other]] = [lines[other]!, lines[line]!];
  return { kind: "swap lines", text: lines.join("\n") };
}
