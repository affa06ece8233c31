// Three verdicts on seeded one-edit mutations of the corpus: `images --fast` (tree-sitter and
// src/jobfile/strict-rules.ts), the referee (hcl2-parser, as `images` runs it by default) and the
// reviewers' Go reference (hashicorp/hcl v2 itself). Lists every mutation on which two of them differ.
//
//   npx tsx scripts/fuzz-verdicts.ts [--seed N]... [--per-file N] [--hclref BIN] [--corpus DIR]
//
// BIN is built by ../shared/check/hclref/build.sh BIN (default: $HCLREF, else /tmp/hclref). Mutated
// files are written to a temporary directory for BIN to read; it is kept when a disagreement is found.
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { z } from "zod";
import { findImages } from "../src/jobfile/jobfile.js";
import { mutate, seededRandom } from "../test/helpers/hcl-mutations.js";

const GoVerdict = z.object({ file: z.string(), ok: z.boolean(), error: z.string().optional() });

interface Case {
  path: string;
  from: string;
  kind: string;
  fast: boolean;
  referee: boolean;
}

const { values } = parseArgs({
  options: {
    seed: { type: "string", multiple: true, default: ["1"] },
    "per-file": { type: "string", default: "10" },
    hclref: { type: "string", default: process.env.HCLREF ?? "/tmp/hclref" },
    corpus: { type: "string", default: path.resolve("../shared/corpus/nomad") },
  },
});
const perFile = Number(values["per-file"]);
const names = (await readdir(values.corpus)).filter((f) => f !== "MANIFEST.tsv" && !f.endsWith(".md")).sort();
const originals = await Promise.all(names.map((f) => readFile(path.join(values.corpus, f), "utf8")));
const tmp = await mkdtemp(path.join(os.tmpdir(), "fuzz-verdicts-"));

const cases: Case[] = [];
for (const seed of values.seed) {
  const random = seededRandom(Number(seed));
  for (const [i, name] of names.entries()) {
    for (let m = 0; m < perFile; m++) {
      const { kind, text } = mutate(originals[i]!, random);
      const file = path.join(tmp, `${seed}-${cases.length}.hcl`);
      await writeFile(file, text);
      const fast = (await findImages(text, { strict: false, hclRules: true })).ok;
      const referee = (await findImages(text)).ok;
      cases.push({ path: file, from: name, kind, fast, referee });
    }
  }
}

// One reference process for all files; its output is one JSON line per file, in argument order.
const go = new Map<string, z.infer<typeof GoVerdict>>();
for (let i = 0; i < cases.length; i += 500) {
  const batch = cases.slice(i, i + 500).map((c) => c.path);
  const { stdout } = await execa(values.hclref, batch, { maxBuffer: 1 << 28 });
  for (const line of stdout.trim().split("\n")) {
    const verdict = GoVerdict.parse(JSON.parse(line));
    go.set(verdict.file, verdict);
  }
}

const counts = {
  mutations: cases.length,
  goRefuses: 0,
  fastVsGo: { fastAccepts: 0, fastRefuses: 0 },
  refereeVsGo: { refereeAccepts: 0, refereeRefuses: 0 },
};
const lines: string[] = [];
for (const c of cases) {
  const g = go.get(c.path);
  if (!g) throw new Error(`the reference gave no verdict on ${c.path}`);
  if (!g.ok) counts.goRefuses++;
  const where = `${c.path} (${c.kind} of ${c.from})${g.error ? `: go says ${g.error}` : ""}`;
  if (c.fast !== g.ok) {
    counts.fastVsGo[c.fast ? "fastAccepts" : "fastRefuses"]++;
    lines.push(`fast ${c.fast ? "accepts" : "refuses"}, go does not: ${where}`);
  }
  if (c.referee !== g.ok) {
    counts.refereeVsGo[c.referee ? "refereeAccepts" : "refereeRefuses"]++;
    lines.push(`referee ${c.referee ? "accepts" : "refuses"}, go does not: ${where}`);
  }
}
console.log(JSON.stringify({ seeds: values.seed, ...counts }));
for (const line of lines) console.log(line);
if (lines.length === 0) await rm(tmp, { recursive: true, force: true });
else console.log(`mutated files kept in ${tmp}`);
process.exitCode = lines.length === 0 ? 0 : 1;
