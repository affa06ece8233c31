// A burst against two replicas of the App, as they would run: each `node dist/server.js` in its own
// process, sharing a real redis-server through REDIS_URL, behind one webhook sender (the GitHub API
// stand-in, alternating between them), with the real local registry. Repositories spread over
// installations get pushes and their builds in rounds; each answered delivery is delivered once more, with
// the same GUID, to the other replica (a redelivery); optionally one replica is killed with SIGKILL between
// planning a deploy and writing it, and restarted on its port. Failed deliveries are never re-sent by
// this harness: only the App can recover them. Used by test/scale/replica-kill.test.ts and
// bench/replicas.ts.
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type Delivery,
  type GitHubStandIn,
  pushPayload,
  startGitHubApi,
  workflowRunPayload,
} from "../helpers/github-api/index.js";
import { type TestRedis, startRedis } from "../helpers/redis.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { jobFile } from "../app/scenario.js";
import { type Monorepo, commitAndBuild, completedCheck, createMonorepo } from "./fleet.js";
import { duplicates } from "./invariants.js";

export interface Replicas {
  registry: TestRegistry;
  redis: TestRedis;
  api: GitHubStandIn;
  /** Replica i answers on webhookUrls[i], before and after a restart. */
  apps: AppProcess[];
  webhookUrls: string[];
  /** Replicas replaced by a restart (their logs). */
  retired: AppProcess[];
  /** Starts replica i again on its port (after a kill). */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** Two replicas sharing Redis; `env` is added to theirs (e.g. NOMAD_GITOPS_REPO_LEASE_SECONDS). */
export async function startReplicas(options: { env?: Record<string, string>; latencyMs?: number } = {}) {
  const registry = await startRegistry();
  const redis = await startRedis();
  const api = await startGitHubApi({ latencyMs: options.latencyMs ?? 0 });
  const env = {
    NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host,
    REDIS_URL: redis.url,
    LOG_LEVEL: "info",
    ...options.env,
  };
  const apps = [await startAppProcess({ api, env }), await startAppProcess({ api, env })];
  const webhookUrls = apps.map((a) => a.webhookUrl);
  api.webhookUrls = webhookUrls;
  const replicas: Replicas = {
    registry,
    redis,
    api,
    apps,
    webhookUrls,
    retired: [],
    async restart(i) {
      replicas.retired.push(apps[i]!);
      apps[i] = await startAppProcess({ api, env, port: apps[i]!.port });
    },
    async stop() {
      await Promise.all(apps.map((a) => a.stop()));
      await api.stop();
      await redis.stop();
      await registry.stop();
    },
  };
  return replicas;
}

export interface BurstPlan {
  /** Installations (one owner each), and repositories per installation. */
  owners: number;
  reposPerOwner: number;
  /** Pushes per repository, each changing one service's code, built, then its workflow_run. */
  pushes: number;
  services: number;
  /**
   * Which answered deliveries are delivered again to the other replica: all, or only those replica 1 (the
   * one never killed) answered, so that the killed replica's work has no twin and only the App's own
   * durability can finish it.
   */
  redeliver: "all" | "from-survivor";
  /** Kill replica 0 once it has planned this many deploys; start it again after `downMs`. */
  kill: { afterPlans: number; downMs: number } | null;
  /** How long to wait, after the last delivery, for every push's check run to complete. */
  settleMs: number;
  progress?: (message: string) => void;
}

export interface Killed {
  repo: string;
  sha: string;
  /** The status of that build's check run right after the kill ("completed": the kill came too late). */
  checkAtKill: string;
  /** ms after the first delivery. */
  atMs: number;
  restartedAtMs: number;
  /** Deliveries to the killed replica that failed: sent before the kill (cut off), and while it was down. */
  inFlight: number;
  refused: number;
}

export interface BurstResult {
  repos: number;
  builds: number;
  deliveries: { first: number; redeliveries: number; failed: number };
  /** Each names something written twice (empty: none). */
  duplicates: string[];
  /** Each names a push whose work did not end as it must, or a repository whose PR is wrong. */
  lost: string[];
  /** Per build: from its workflow_run's first delivery to its check run completed. */
  latenciesMs: number[];
  /** Content-creating requests accepted, and rate-limit answers (403/429). */
  writes: number;
  rateLimited: number;
  /** The highest count of accepted content-creating requests of one installation in any 60 s. */
  peakWritesPerMinute: number;
  killed: Killed | null;
  /** From the first delivery to the last check run completed. */
  wallMs: number;
}

interface Build {
  repo: Monorepo;
  sha: string;
  /** The workflow_run's first delivery. */
  delivered: Promise<Delivery>;
}

export async function runBurst(r: Replicas, plan: BurstPlan): Promise<BurstResult> {
  const { api, registry } = r;
  const say = plan.progress ?? (() => undefined);
  const repos: Monorepo[] = [];
  for (let o = 0; o < plan.owners; o++) {
    for (let n = 0; n < plan.reposPerOwner; n++) {
      repos.push(
        await createMonorepo(api, registry, {
          owner: `org${String(o).padStart(2, "0")}`,
          name: `burst-${n}`,
          services: plan.services,
        }),
      );
    }
  }
  say(`${repos.length} repositories in ${plan.owners} installations`);
  api.clearRequests();
  const firstDeliveries: Array<Promise<Delivery>> = [];
  const redeliveries: Array<Promise<Delivery | null>> = [];
  // Each kind of event alternates between the replicas on its own, so both get pushes and builds.
  const turns = new Map<string, number>();
  /** Delivers once; when that was answered, once more (same GUID) to the other replica. */
  const send = (event: string, payload: Record<string, unknown>): Promise<Delivery> => {
    const turn = turns.get(event) ?? 0;
    turns.set(event, turn + 1);
    const first = api.deliver(event, payload, { target: r.webhookUrls[turn % r.webhookUrls.length]! });
    firstDeliveries.push(first);
    redeliveries.push(
      first.then((d) => {
        if (d.statusCode < 200 || d.statusCode >= 300) return null;
        if (plan.redeliver === "from-survivor" && d.target !== r.webhookUrls[1]) return null;
        const other = r.webhookUrls.find((u) => u !== d.target)!;
        return api.deliver(event, payload, { guid: d.guid, redelivery: true, target: other });
      }),
    );
    return first;
  };

  const started = Date.now();
  let watching = true;
  const builds: Build[] = [];
  const killing = plan.kill ? killMidDeploy(r, plan.kill, builds, () => watching, started) : null;
  for (let round = 0; round < plan.pushes; round++) {
    for (const repo of repos) {
      const sha = await commitAndBuild(api, registry, repo, [round % plan.services]);
      void send("push", pushPayload(api, repo.fullName, "main"));
      builds.push({
        repo,
        sha,
        delivered: send("workflow_run", workflowRunPayload(api, repo.fullName, { sha })),
      });
    }
    say(`round ${round + 1} of ${plan.pushes} delivered`);
  }
  await Promise.all(firstDeliveries);
  await Promise.all(redeliveries);
  say("every delivery answered; waiting for the check runs");

  const deadline = Date.now() + plan.settleMs;
  let told = Date.now();
  for (;;) {
    const open = builds.filter((b) => !completedCheck(api, b.repo.fullName, b.sha)).length;
    if (open === 0 || Date.now() > deadline) break;
    if (Date.now() - told > 30_000) {
      say(`${builds.length - open} of ${builds.length} check runs completed`);
      told = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  watching = false;
  const killed = killing ? await killing : null;
  // Late writes (a resumed deploy finishing) would show up as duplicates: give them a moment.
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const lost: string[] = [];
  const latenciesMs: number[] = [];
  let lastDone = started;
  for (const b of builds) {
    const check = completedCheck(api, b.repo.fullName, b.sha);
    const name = `${b.repo.fullName}@${b.sha.slice(0, 7)}`;
    if (!check) {
      lost.push(`${name}: no completed check run`);
      continue;
    }
    if (check.conclusion !== "success" && check.conclusion !== "neutral")
      lost.push(`${name}: check run ${check.conclusion} (${check.output.title ?? ""})`);
    const done = Date.parse(check.completedAt!);
    lastDone = Math.max(lastDone, done);
    latenciesMs.push(done - Date.parse((await b.delivered).deliveredAt));
  }
  for (const repo of repos) lost.push(...wrongPr(r, repo));

  const all = [...(await Promise.all(firstDeliveries))];
  const again = (await Promise.all(redeliveries)).filter((d): d is Delivery => d !== null);
  const requests = api.requests();
  return {
    repos: repos.length,
    builds: builds.length,
    deliveries: {
      first: all.length,
      redeliveries: again.length,
      failed: [...all, ...again].filter((d) => d.statusCode < 200 || d.statusCode >= 300).length,
    },
    duplicates: repos.flatMap((repo) => duplicates(api, repo.fullName).map((d) => `${repo.fullName}: ${d}`)),
    lost,
    latenciesMs,
    writes: requests.filter((q) => q.write && q.status < 400).length,
    // The stand-in answers 403/429 only for rate limits here (every token has every permission).
    rateLimited: requests.filter((q) => q.status === 429 || q.status === 403).length,
    peakWritesPerMinute: peakPerMinute(requests),
    killed: killed && {
      ...killed,
      inFlight: failedTo(r.webhookUrls[0]!, [...all, ...again], 0, killed.atMs + started),
      refused: failedTo(
        r.webhookUrls[0]!,
        [...all, ...again],
        killed.atMs + started,
        killed.restartedAtMs + started,
      ),
    },
    wallMs: lastDone - started,
  };
}

/** The deploy PR after the last build: one open PR, on main's head, every moved service at its last build. */
function wrongPr(r: Replicas, repo: Monorepo): string[] {
  const { api } = r;
  const state = api.repo(repo.fullName);
  const open = state.pulls.filter((p) => p.state === "open");
  if (open.length !== 1) return [`${repo.fullName}: ${open.length} open deploy PRs`];
  const main = state.refs.get("refs/heads/main")!;
  const head = state.refs.get(`refs/heads/${open[0]!.head}`);
  if (!head) return [`${repo.fullName}: the deploy branch is gone`];
  const out: string[] = [];
  const commit = api.store.commits.get(head)!;
  if (commit.parents[0] !== main) out.push(`${repo.fullName}: the deploy branch is not on main's head`);
  // The bot's commit names the build it pins (digest-only pins carry no tag).
  if (!commit.message.includes(`Nomad-Gitops-Build: ${main}`))
    out.push(`${repo.fullName}: the deploy commit does not record main's build`);
  repo.services.forEach((service, i) => {
    // A moved service is pinned by digest (the default style); the others keep their seeded pin.
    const moved = repo.versions[i]! > 1;
    const expected = moved
      ? jobFile(r.registry.host, service, "PIN").replace(":PIN", `@${repo.digests[i]}`)
      : jobFile(r.registry.host, service, `${repo.deployed}@${repo.digests[i]}`);
    const text = api.file(repo.fullName, head, `nomad/${service}.nomad.hcl`);
    if (text !== expected)
      out.push(`${repo.fullName}: nomad/${service}.nomad.hcl does not pin ${repo.digests[i]!.slice(0, 20)}…`);
  });
  return out;
}

function failedTo(target: string, deliveries: Delivery[], from: number, to: number): number {
  return deliveries.filter((d) => {
    const at = Date.parse(d.deliveredAt);
    return d.target === target && at >= from && at < to && (d.statusCode < 200 || d.statusCode >= 300);
  }).length;
}

/** Highest number of accepted content-creating requests of one installation within any 60 s. */
export function peakPerMinute(requests: ReturnType<GitHubStandIn["requests"]>): number {
  const byInstallation = new Map<number, number[]>();
  for (const q of requests) {
    if (!q.write || q.status >= 400 || q.installation === null) continue;
    byInstallation.set(q.installation, [...(byInstallation.get(q.installation) ?? []), q.time]);
  }
  let peak = 0;
  for (const times of byInstallation.values()) {
    times.sort((a, b) => a - b);
    let from = 0;
    for (let to = 0; to < times.length; to++) {
      while (times[to]! - times[from]! >= 60_000) from++;
      peak = Math.max(peak, to - from + 1);
    }
  }
  return peak;
}

/**
 * Watches replica 0's log for its n-th "deploy planned" (the plan is made, nothing written yet) and kills
 * it with SIGKILL then; restarts it after `downMs`. Null when the burst ended before that.
 */
async function killMidDeploy(
  r: Replicas,
  kill: { afterPlans: number; downMs: number },
  builds: readonly Build[],
  watching: () => boolean,
  started: number,
): Promise<Omit<Killed, "inFlight" | "refused"> | null> {
  const victim = r.apps[0]!;
  const planned: string[] = [];
  let read = 0;
  while (planned.length < kill.afterPlans) {
    if (!watching()) return null;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const log = victim.logs();
    const end = log.lastIndexOf("\n") + 1;
    for (const line of log.slice(read, end).split("\n"))
      if (line.includes('"deploy planned"')) planned.push((JSON.parse(line) as { sha: string }).sha);
    read = Math.max(read, end);
  }
  await victim.kill();
  const atMs = Date.now() - started;
  const sha = planned[kill.afterPlans - 1]!;
  const repo = builds.find((b) => b.sha === sha)?.repo.fullName ?? "?";
  const run =
    repo === "?"
      ? undefined
      : r.api
          .repo(repo)
          .checkRuns.filter((c) => c.headSha === sha)
          .at(-1);
  await new Promise((resolve) => setTimeout(resolve, kill.downMs));
  await r.restart(0);
  return { repo, sha, checkAtKill: run?.status ?? "none", atMs, restartedAtMs: Date.now() - started };
}
