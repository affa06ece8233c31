// The App as shipped (`node dist/server.js`: Probot's run with the App's throttling) against the GitHub
// API stand-in over HTTP and the real local registry: one deploy that moves 1 of N services (N = 1, 10,
// 100). Reported: GitHub requests and content-creating ones, how long the workflow_run webhook took to be
// answered, and the wall time from sending it to the check run completed.
import { type AppProcess, startAppProcess } from "../test/helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../test/helpers/github-api/index.js";
import { startRegistry } from "../test/helpers/registry.js";
import { commitAndBuild, createMonorepo, waitForCheck, waitForQueued } from "../test/scale/fleet.js";
import type { BenchSection } from "./types.js";

interface Row {
  services: number;
  requests: number;
  graphql: number;
  writes: number;
  answerMs: number;
  /** From sending the webhook to the App's first content-creating write: reads and planning. */
  planMs: number;
  /** Round trips to GitHub, when the stand-in adds latency (else NaN). */
  rounds: number;
  wallMs: number;
  routes: string[];
}

/**
 * Round trips: with `latencyMs` added to every answer, a request that waited for another arrives at least
 * that much after it, so requests arriving within one latency of a round's first are one round.
 */
function roundTrips(times: number[], latencyMs: number): number {
  let rounds = 0;
  let start = -Infinity;
  for (const t of [...times].sort((a, b) => a - b)) {
    if (t - start >= latencyMs * 0.9) {
      rounds += 1;
      start = t;
    }
  }
  return rounds;
}

async function deployOnce(
  api: GitHubStandIn,
  registry: Awaited<ReturnType<typeof startRegistry>>,
  n: number,
  round: number,
  owner?: string,
): Promise<Row> {
  const repo = await createMonorepo(api, registry, {
    name: `bench-${n}-${round}`,
    services: n,
    ...(owner ? { owner } : {}),
  });
  const sha = await commitAndBuild(api, registry, repo, [0]);
  await sendPush(api, repo.fullName, "main");
  // The push is answered before its work: its queued check run says the work is done.
  await waitForQueued(api, repo.fullName, sha);
  api.clearRequests();
  const started = Date.now();
  const delivery = await sendWorkflowRun(api, repo.fullName, { sha });
  const check = await waitForCheck(api, repo.fullName, sha);
  if (check.conclusion !== "success")
    throw new Error(`deploy of ${repo.fullName} ended ${check.conclusion}: ${check.output.summary}`);
  const pr = api.repo(repo.fullName).pulls[0];
  if (!pr) throw new Error(`no deploy PR in ${repo.fullName}`);
  const requests = api.requests().filter((r) => r.repo === null || r.repo === repo.fullName);
  return {
    services: n,
    requests: requests.length,
    graphql: requests.filter((r) => r.route.startsWith("graphql")).length,
    writes: requests.filter((r) => r.write).length,
    answerMs: delivery.durationMs,
    planMs: (requests.find((r) => r.write)?.time ?? NaN) - started,
    rounds: roundTrips(
      requests.map((r) => r.time),
      api.options.latencyMs ?? 0,
    ),
    wallMs: Date.parse(check.completedAt!) - started,
    routes: requests.map(
      (r) => `+${String(r.time - started).padStart(5)} ms  ${r.route}${r.write ? "  (write)" : ""}`,
    ),
  };
}

const LATENCY_MS = 100;

/** Before issue 21, for comparison (static text; the table above is this run's). */
const BEFORE = [
  "Before (commit a68eacf, 2026-12-07 05:50 UTC, this machine shared, load average 3.3; same command): N = 100",
  "made 18 requests, 8 content-creating (check in_progress, tree, commit, updateRefs, PR, comment, labels,",
  "check completed), all one after another: 18 round trips; wall 4004 ms, first write at 796 ms, and",
  "1.25 s gaps before the labels and the check run: the installation's write bucket (burst 28, then one",
  "per 1.2 s) was spent by the bench's earlier deploys in the same installation.",
].join("\n");

export async function run(): Promise<BenchSection> {
  const registry = await startRegistry();
  const api = await startGitHubApi();
  let app: AppProcess | undefined;
  try {
    app = await startAppProcess({
      api,
      env: {
        NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host,
        LOG_LEVEL: "warn",
        // The missed-delivery pass on start only (before the measured deploys), none during them.
        NOMAD_GITOPS_RECOVERY_INTERVAL_SECONDS: "0",
      },
    });
    api.webhookUrls = [app.webhookUrl];
    await deployOnce(api, registry, 1, 0); // warm-up: module loading and the parser out of the timings
    const rows: Row[] = [];
    for (const n of [1, 10, 100]) rows.push(await deployOnce(api, registry, n, 1));
    // N = 100 again with GitHub's latency modelled (100 ms on every answer), in an installation of its own
    // so that its write budget is full, as for a repository's first deploy in a minute: the round trips.
    api.options.latencyMs = LATENCY_MS;
    const far = await deployOnce(api, registry, 100, 2, "latency");
    api.options.latencyMs = 0;
    return {
      title: "GitHub App: one deploy, as shipped",
      markdown: [
        "`node dist/server.js` (Probot's run with the App's throttling, src/github/octokit.ts) in its own",
        "process, signed webhooks over HTTP, GitHub replaced by the stand-in of test/helpers/github-api (no",
        "network latency: GitHub adds ~0.1–0.5 s a request), the real local registry. One `workflow_run`",
        "(build succeeded) that moves 1 of N services: commit, PR, label, sticky comment, check run.",
        "Requests exclude the `push` before it; `answer` is how long the webhook took to be answered, `wall`",
        "runs from sending it to the check run completed.",
        "",
        "| services | GitHub requests | of which GraphQL | content-creating | answer ms | to first write ms | wall ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        ...rows.map(
          (r) =>
            `| ${r.services} | ${r.requests} | ${r.graphql} | ${r.writes} | ${r.answerMs.toFixed(0)} | ${r.planMs} | ${r.wallMs} |`,
        ),
        "",
        `With ${LATENCY_MS} ms added to every GitHub answer (a fresh installation, N = 100): ${far.requests} requests in`,
        `**${far.rounds} round trips** (requests arriving within ${LATENCY_MS} ms of a round's first are one round), wall`,
        `${far.wallMs} ms, of which ${far.planMs} ms before the first write.`,
        "",
        BEFORE,
        "",
        "<details><summary>The requests at N = 100 (arrival at the stand-in, from sending the webhook)</summary>",
        "",
        "```",
        ...rows[rows.length - 1]!.routes,
        "```",
        "",
        `With ${LATENCY_MS} ms latency:`,
        "",
        "```",
        ...far.routes,
        "```",
        "",
        "</details>",
      ].join("\n"),
    };
  } finally {
    await app?.stop();
    await api.stop();
    await registry.stop();
  }
}
