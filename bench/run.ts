// `npm run bench`: runs every area's benchmark in one process and rewrites BENCHMARKS.md with the
// machine and the date, so figures from one run can be compared with each other.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { execFileSync } from "node:child_process";
import type { BenchSection } from "./types.js";

const areas: Array<[string, () => Promise<{ run(): Promise<BenchSection> }>]> = [
  ["nomad", () => import("./nomad.js")],
  ["coverage", async () => ({ run: (await import("./nomad.js")).coverageOnly })],
  ["registry", () => import("./registry.js")],
  ["plan", () => import("./plan.js")],
  ["provenance", () => import("./provenance.js")],
  ["images", () => import("./images.js")],
  ["github", () => import("./github.js")],
  ["action", () => import("./action.js")],
  ["replicas", () => import("./replicas.js")],
  ["memory", () => import("./memory.js")],
];

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).split("\n")[0]!.trim();
  } catch {
    return "not installed";
  }
}

const only = process.argv.slice(2);
const sections: BenchSection[] = [];
for (const [name, load] of areas) {
  if (only.length > 0 && !only.includes(name)) continue;
  // `coverage` is the nomad section's table alone: a full run has it already.
  if (only.length === 0 && name === "coverage") continue;
  process.stderr.write(`bench: ${name}...\n`);
  sections.push(await (await load()).run());
}

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const header = [
  "# Benchmarks",
  "",
  "Written by `npm run bench` (all sections come from one run on one machine; ratios compare work done in",
  "that same run). Re-run it after a change that could move speed or request counts.",
  "",
  `- date: ${new Date().toISOString().slice(0, 10)}`,
  `- machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
  `- node ${process.version}, ${tool("skopeo", ["--version"])}, docker-registry ${tool("dpkg-query", ["-W", "-f=${Version}", "docker-registry"])}`,
  "",
].join("\n");
const body = sections.map((s) => `## ${s.title}\n\n${s.markdown.trim()}\n`).join("\n");
if (only.length > 0) {
  process.stdout.write(`${header}\n${body}`);
} else {
  writeFileSync(new URL("../BENCHMARKS.md", import.meta.url), `${header}\n${body}`);
  process.stderr.write("bench: wrote BENCHMARKS.md\n");
}
