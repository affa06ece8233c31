// `images` for 500 small job files, whole process: start-up (the command on one file) measured apart
// from the cost per file (the difference to 500 files), against a bare `node` start.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { BenchSection } from "./types.js";

const FILES = 500;
const RUNS = 7;

const job = (i: number) =>
  `job "svc-${i}" {\n  group "app" {\n    task "app" {\n      driver = "docker"\n\n      config {\n        image = "registry.example.com/bench/svc-${i}:v1"\n      }\n    }\n  }\n}\n`;

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Measured on main a68eacf by this same bench on the same machine (loaded by other work at the time). */
const BEFORE = [
  "| before: main fcf4332 (last stop), 2026-12-07 16:33 UTC, idle: `images` | 88 ms | 249 ms | 482 ms | 0.47 ms | 2143 |",
  "| before: main fcf4332 (last stop), 2026-12-07 16:33 UTC, idle: `images --strict` | 88 ms | 343 ms | 1315 ms | 1.95 ms | 514 |",
  "| before: main 5024a5b (last stop), 2026-12-07 13:37 UTC, idle: `images` | 99 ms | 302 ms | 505 ms | 0.41 ms | 2461 |",
  "| before: main 72c3c71, 2026-12-07 10:16 UTC, idle: `images` (the referee decided) | 96 ms | 540 ms | 1492 ms | 1.91 ms | 524 |",
  "| before: main 72c3c71, 2026-12-07 10:16 UTC, idle: `images --fast` | 96 ms | 283 ms | 551 ms | 0.54 ms | 1862 |",
  "| before: main a68eacf, 2026-12-07, same bench and machine (load average ~12 from other work) | 262 ms | 1816 ms | 5294 ms | 6.97 ms | 143 |",
];

export async function run(): Promise<BenchSection> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-bench-images-"));
  try {
    const files: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const file = path.join(dir, `svc-${i}.nomad.hcl`);
      await writeFile(file, job(i));
      files.push(file);
    }
    const bin = fileURLToPath(new URL("../bin/nomad-gitops-bot", import.meta.url));
    // The referee's V8 code cache (src/code-cache.ts) in a directory of this run: empty at first, so
    // the first run is the cold start a user's first run is, and every later one is warm.
    const cache = path.join(dir, "code-cache");
    const timed = async (args: string[], cacheDir = cache) => {
      const start = process.hrtime.bigint();
      const out = await execa(process.execPath, args, {
        cwd: dir,
        env: { NOMAD_GITOPS_BOT_CACHE_DIR: cacheDir },
      });
      if (args.length > 2 && out.stdout.split("\n").length < Math.min(files.length, args.length - 2))
        throw new Error("images listed fewer files than given");
      return ms(start);
    };
    await timed([bin, "images", "--strict", files[0]!]); // warm-up: page cache, and the code cache written
    const bare: number[] = [];
    const uncached: number[] = [];
    const cold: number[] = [];
    const modes = [
      { name: "`images` (tree-sitter and the rules decide what is valid)", args: [] as string[] },
      { name: "`images --strict` (the referee asked too)", args: ["--strict"] },
    ].map((m) => ({ ...m, one: [] as number[], all: [] as number[] }));
    for (let i = 0; i < RUNS; i++) {
      bare.push(await timed(["-e", ""]));
      uncached.push(await timed([bin, "images", "--strict", files[0]!], "off"));
      // A first run's start: an empty cache directory, which it fills.
      cold.push(await timed([bin, "images", "--strict", files[0]!], path.join(dir, `cold-${i}`)));
      for (const m of modes) {
        m.one.push(await timed([bin, "images", ...m.args, files[0]!]));
        m.all.push(await timed([bin, "images", ...m.args, ...files]));
      }
    }
    const rows = modes.map((m) => {
      const startup = median(m.one);
      const perFile = (median(m.all) - startup) / (FILES - 1);
      return `| ${m.name}, this run | ${median(bare).toFixed(0)} ms | ${startup.toFixed(0)} ms | ${median(m.all).toFixed(0)} ms | ${perFile.toFixed(2)} ms | ${Math.round(1000 / perFile)} |`;
    });
    return {
      title: "images: 500 small files",
      markdown: [
        `\`nomad-gitops-bot images\` as a user runs it (whole process), on ${FILES} small job files (one task each), median of ${RUNS} runs.`,
        "Start-up is the command on one file; the cost per file is what 500 files add to it. By default tree-sitter and",
        "the rules HashiCorp's parser adds to the grammar decide whether a file is valid (`images` edits nothing, so",
        "needs no proof; `scripts/fuzz-verdicts.ts` measures the rules' agreement with hashicorp/hcl); `--strict` asks",
        "HashiCorp's parser (the referee) as well, in a worker thread beside the scan from 4 files on.",
        "",
        "| | bare `node -e ''` | start-up (`images` on 1 file) | `images` on 500 files | per file after start-up | files/s |",
        "|---|---:|---:|---:|---:|---:|",
        ...rows,
        ...BEFORE,
        "",
        `The referee's V8 code cache was warm for every \`--strict\` run in the table (written by the warm-up run, into an`,
        `empty directory). Start-up of \`images --strict\` on 1 file, medians of ${RUNS}: ${median(modes[1]!.one).toFixed(0)} ms warm; ${median(cold).toFixed(0)} ms cold (a first run: an empty cache`,
        `directory, which it fills); ${median(uncached).toFixed(0)} ms with the cache off (\`NOMAD_GITOPS_BOT_CACHE_DIR=off\`).`,
        "",
        "(goal: ≤ 0.5 ms per file after start-up.)",
      ].join("\n"),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
