// `--fast`'s verdicts (tree-sitter and strict-rules.ts) against the referee's (hcl2-parser, HashiCorp's
// hclsyntax compiled to JS) on seeded one-edit mutations of the real-world corpus, read in place: the
// same files on every run, so a disagreement is a rule missing or too strict, never luck.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findImages } from "../../src/jobfile/jobfile.js";
import { hcl2Object } from "../../src/jobfile/parse.js";
import { mutate, seededRandom } from "../helpers/hcl-mutations.js";

const dir = path.resolve(process.cwd(), "../shared/corpus/nomad");
// The corpus sits beside the project in its workspace (and in CI), not in a plain clone of the repo.
const present = existsSync(path.join(dir, "MANIFEST.tsv"));
// Every third file, by name: a third of the referee's reading time, the same variety of Nomad features.
const files = present
  ? readdirSync(dir)
      .filter((f) => f !== "MANIFEST.tsv" && !f.endsWith(".md"))
      .sort()
      .filter((_, i) => i % 3 === 0)
  : [];
const SEED = 21;
const PER_FILE = 4;

describe.skipIf(!present)("--fast's rules against the referee, on mutated corpus files", () => {
  it("[fault:hcl-newline-rules] refuses exactly what hcl2-parser refuses", { timeout: 60_000 }, async () => {
    const random = seededRandom(SEED);
    const disagreements: string[] = [];
    let refused = 0;
    let mutations = 0;
    for (const file of files) {
      const original = readFileSync(path.join(dir, file), "utf8");
      for (let i = 0; i < PER_FILE; i++) {
        const { kind, text } = mutate(original, random);
        mutations++;
        const referee = hcl2Object(text).ok;
        const fast = await findImages(text, { strict: false, hclRules: true });
        if (!referee) refused++;
        if (fast.ok !== referee) {
          const said = fast.ok ? "fast accepts" : `fast refuses (line ${fast.line}: ${fast.error})`;
          disagreements.push(`${file} #${i} (${kind}): referee ${referee ? "accepts" : "refuses"}, ${said}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
    expect(mutations).toBe(files.length * PER_FILE);
    // Not a vacuous comparison: a good share of the edits break the file, and many leave it valid.
    expect(refused).toBeGreaterThan(mutations / 5);
    expect(mutations - refused).toBeGreaterThan(mutations / 5);
  });
});
