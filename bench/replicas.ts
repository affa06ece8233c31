// Two replicas of the App as shipped (`node dist/server.js` each, a real redis-server shared through
// REDIS_URL) behind one webhook sender, the GitHub API stand-in over HTTP and the real registry: 50
// repositories in 10 installations, 4 pushes each (push, build, workflow_run), every answered delivery
// delivered again to the other replica, one replica killed with SIGKILL between planning a deploy and
// writing it and restarted. Reported: duplicates, lost work, latency from workflow_run to the completed
// check run, peak content-creating requests per minute per installation. The scenario is
// test/scale/burst.ts (its CI-sized run: test/scale/replica-kill.test.ts).
import { type BurstPlan, type BurstResult, runBurst, startReplicas } from "../test/scale/burst.js";
import type { BenchSection } from "./types.js";

export const PLAN: BurstPlan = {
  owners: 10,
  reposPerOwner: 5,
  pushes: 4,
  services: 3,
  redeliver: "all",
  kill: { afterPlans: 15, downMs: 3000 },
  // p95 is under 3 min on a loaded machine: work not done 5 min after the last delivery is lost.
  settleMs: 5 * 60_000,
};
export const LATENCY_MS = 50;

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function run(): Promise<BenchSection> {
  const replicas = await startReplicas({ latencyMs: LATENCY_MS });
  let result: BurstResult;
  try {
    const started = Date.now();
    result = await runBurst(replicas, {
      ...PLAN,
      progress: (m) => process.stderr.write(`bench: replicas: ${seconds(Date.now() - started)} ${m}\n`),
    });
  } finally {
    await replicas.stop();
  }
  return { title: "GitHub App: two replicas, a burst, a SIGKILL", markdown: render(result) };
}

export function render(r: BurstResult): string {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  const k = r.killed;
  const list = (items: string[]) =>
    items.length === 0 ? [] : ["", "```", ...items.slice(0, 20), ...(items.length > 20 ? ["…"] : []), "```"];
  return [
    "Two `node dist/server.js` processes sharing a Debian `redis-server` (`REDIS_URL`: per-repository",
    "serialisation and the write budget shared across replicas), behind one webhook sender (the stand-in of",
    `test/helpers/github-api, alternating between them, ${LATENCY_MS} ms added to every GitHub answer), the real local`,
    `registry. ${r.repos} repositories in ${PLAN.owners} installations, ${PLAN.services} services each; ${PLAN.pushes} rounds of one commit per`,
    "repository (one service changed), its images pushed, then `push` and `workflow_run` delivered at once.",
    "Every delivery that was answered is delivered again, same GUID, to the other replica. Replica 0 is",
    `killed with SIGKILL once it has planned ${PLAN.kill!.afterPlans} deploys (before it writes the last), and started again on its`,
    `port ${seconds(PLAN.kill!.downMs)} later. Deliveries that fail are not re-sent by the harness. Scenario: test/scale/burst.ts.`,
    "",
    "| | |",
    "|---|---:|",
    `| builds (push + workflow_run) | ${r.builds} |`,
    `| deliveries: first / redelivered / failed | ${r.deliveries.first} / ${r.deliveries.redeliveries} / ${r.deliveries.failed} |`,
    `| **duplicates** (PRs, sticky comments, commits, check runs per head and attempt, deployments, statuses) | **${r.duplicates.length}** |`,
    `| **lost work** (a push without a completed check run, or a PR not holding the last build) | **${r.lost.length}** |`,
    `| workflow_run delivered → check run completed: p50 / p95 / max | ${seconds(percentile(sorted, 0.5))} / ${seconds(percentile(sorted, 0.95))} / ${seconds(sorted.at(-1) ?? NaN)} |`,
    `| content-creating requests accepted / rate-limit answers | ${r.writes} / ${r.rateLimited} |`,
    `| **peak content-creating requests in any 60 s, per installation** (GitHub: 80) | **${r.peakWritesPerMinute}** |`,
    k
      ? `| SIGKILL at / restarted at | ${seconds(k.atMs)} / ${seconds(k.restartedAtMs)}: its deploy of ${k.repo}@${k.sha.slice(0, 7)} had its check run \`${k.checkAtKill}\`; ${k.inFlight} of its deliveries cut off, ${k.refused} refused while down |`
      : "| SIGKILL | did not happen (the replica planned too few deploys) |",
    `| wall time, first delivery → last check run completed | ${seconds(r.wallMs)} |`,
    ...(r.duplicates.length > 0 ? ["", "Duplicates:", ...list(r.duplicates)] : []),
    ...(r.lost.length > 0 ? ["", "Lost work:", ...list(r.lost)] : []),
  ].join("\n");
}
