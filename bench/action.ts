// The GitHub Action as the runner runs it (`node index.js` of the bundle built from the current sources,
// a fresh process per run, the runner's environment) against the GitHub API stand-in over HTTP and the
// real local registry: one deploy that moves 1 of N services (N = 1, 10, 100), the App's benchmark case
// (bench/github.ts). Reported: GitHub requests and content-creating ones, and the step's wall time.
// NGB_BENCH_ACTION_ENTRY=path/to/index.js measures another bundle (e.g. the committed dist-action/).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type GitHubStandIn, startGitHubApi } from "../test/helpers/github-api/index.js";
import { type TestRegistry, startRegistry } from "../test/helpers/registry.js";
import { commitAndBuild, createMonorepo } from "../test/scale/fleet.js";
import { buildActionBundle, runActionStep } from "../test/action/runner.js";
import type { BenchSection } from "./types.js";

const TOKEN = "ghs_BenchWorkflowToken0123456789abcdefghij";

interface Row {
  services: number;
  requests: number;
  graphql: number;
  writes: number;
  /** From starting the process to its first commit write (the tree): start-up, reads and planning. */
  planMs: number;
  wallMs: number;
  /** CPU time (user + system) of the step's process: what the wall time is on an idle machine, at least. */
  cpuMs: number;
  routes: string[];
}

// Preloaded with `node --require`: the process's own CPU time, printed as it exits (the bundle is untouched).
const CPU_PROBE = `process.on("exit", () => { const u = process.cpuUsage(); process.stderr.write("cpu-ms " + Math.round((u.user + u.system) / 1000) + "\\n"); });\n`;

async function deployOnce(
  api: GitHubStandIn,
  registry: TestRegistry,
  entry: string,
  work: string,
  n: number,
  round: number,
): Promise<Row> {
  const repo = await createMonorepo(api, registry, { name: `action-${n}-${round}`, services: n });
  const sha = await commitAndBuild(api, registry, repo, [0]);
  api.clearRequests();
  const started = Date.now();
  const run = await runActionStep({
    entry,
    api,
    token: TOKEN,
    repo: repo.fullName,
    sha,
    inputs: { "insecure-registries": registry.host },
    parent: work,
    nodeArgs: ["--require", path.join(work, "cpu-probe.cjs")],
  });
  if (run.exitCode !== 0 || run.outputs.moved !== repo.services[0])
    throw new Error(`the Action on ${repo.fullName} exited ${run.exitCode}:\n${run.stdout}\n${run.stderr}`);
  const pr = api.repo(repo.fullName).pulls[0];
  if (!pr) throw new Error(`no deploy PR in ${repo.fullName}`);
  const requests = api.requests().filter((r) => r.repo === null || r.repo === repo.fullName);
  return {
    services: n,
    requests: requests.length,
    graphql: requests.filter((r) => r.route.startsWith("graphql")).length,
    writes: requests.filter((r) => r.write).length,
    planMs: (requests.find((r) => r.route === "POST /repos/:owner/:repo/git/trees")?.time ?? NaN) - started,
    wallMs: Math.round(run.wallMs),
    cpuMs: Number(/^cpu-ms (\d+)$/m.exec(run.stderr)?.[1] ?? NaN),
    routes: requests.map(
      (r) => `+${String(r.time - started).padStart(5)} ms  ${r.route}${r.write ? "  (write)" : ""}`,
    ),
  };
}

export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(path.join(os.tmpdir(), "ngb-bench-action-"));
  const [registry, api] = await Promise.all([
    startRegistry(),
    startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } }),
  ]);
  try {
    writeFileSync(path.join(work, "cpu-probe.cjs"), CPU_PROBE);
    const given = process.env.NGB_BENCH_ACTION_ENTRY;
    const entry = given ? path.resolve(given) : await buildActionBundle(work);
    await deployOnce(api, registry, entry, work, 1, 0); // warm-up: the bundle and the registry in the page cache
    const rows: Row[] = [];
    for (const n of [1, 10, 100]) rows.push(await deployOnce(api, registry, entry, work, n, 1));
    return {
      title: "GitHub Action: one deploy, as the runner runs it",
      markdown: [
        `\`node ${given ? path.relative(process.cwd(), entry) : "index.js"}\` (the Action's bundle${given ? "" : ", built from the sources by `scripts/build-action.mjs --out`"}),`,
        "a new process per run as on the runner, with the runner's environment (`INPUT_*` with action.yml's",
        "defaults, `GITHUB_*`, `RUNNER_TEMP`, the output and summary files; test/action/runner.ts), GitHub",
        "replaced by the stand-in of test/helpers/github-api (no network latency), the real local registry.",
        "The same deploy as the App's section: one `workflow_run` that moves 1 of N services. `wall` is the",
        "step's, from starting `node` to its exit (module loading included); `to first commit write` runs",
        "from the start to the tree write; `CPU` is the step process's own (user + system), the floor of its",
        "wall time on an idle machine (the stand-in and the registry work in their own processes meanwhile).",
        "",
        "| services | GitHub requests | of which GraphQL | content-creating | to first commit write ms | wall ms | CPU ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        ...rows.map(
          (r) =>
            `| ${r.services} | ${r.requests} | ${r.graphql} | ${r.writes} | ${r.planMs} | ${r.wallMs} | ${r.cpuMs} |`,
        ),
        "",
        "<details><summary>The requests at N = 100 (arrival at the stand-in, from starting the step)</summary>",
        "",
        "```",
        ...rows[rows.length - 1]!.routes,
        "```",
        "",
        "</details>",
      ].join("\n"),
    };
  } finally {
    await api.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
