// `rollout`: what the cluster says about the jobs of some job files (the same look the App takes after a
// merge, src/nomad/rollout.ts), optionally following until the rollouts finish (src/nomad/follow.ts).
// The `nomad` section comes from the repository's config; NOMAD_TOKEN from the environment only.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { nomadClientFor } from "../nomad/client.js";
import {
  DEFAULT_FOLLOW_MINUTES,
  type Scheduler,
  followRollouts,
  realScheduler,
  timeoutDescription,
} from "../nomad/follow.js";
import { type RolloutCheck, type RolloutTarget, checkRollout, rolloutTargets } from "../nomad/rollout.js";
import { CONFIG_PATH, readConfig } from "../config/load.js";
import { shortDigest } from "../core/templates.js";
import * as git from "../workspace/git.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

const USAGE = [
  "usage: nomad-gitops-bot rollout [--repo DIR] [--sha REV] [--wait] [--json] JOB_FILE...",
  "",
  "  --repo DIR  repository with .github/nomad-gitops.yml (its `nomad` section) (default: .)",
  "  --sha REV   read the config and the job files at this commit instead of the working tree",
  "  --wait      re-check (5 s doubling to 60 s) until every rollout finished or nomad.follow_minutes",
  "              (15 when 0) passed",
  "  --json      print the result as JSON",
  "",
  "For each configured service a job file pins: the job's version in the cluster, the digest it runs",
  "against the file's pin, its latest deployment with healthy/desired allocations per group, and the",
  "failing allocations' events. NOMAD_TOKEN is read from the environment.",
  "",
  "Exit status: 0 no rollout failed (with --wait: all succeeded), 1 a rollout failed, timed out or the",
  "cluster could not be asked, 2 bad usage or input.",
].join("\n");

export const command: Command = {
  summary: "Show (or --wait for) the Nomad rollout of the jobs in some job files.",
  usage: USAGE,
  run: (argv, io) => runRollout(argv, io, realScheduler({ unref: false })),
};

interface Row {
  target: RolloutTarget;
  check: RolloutCheck;
  timedOut: boolean;
}

/** The command with its time source chosen (tests pass a scheduler that does not sleep). */
export async function runRollout(argv: string[], io: CliIO, scheduler: Scheduler): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        repo: { type: "string" },
        sha: { type: "string" },
        wait: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError("name at least one JOB_FILE");
  if (values.repo === "" || values.sha === "") throw new UsageError("--repo and --sha need a value");
  const fail = (message: string) => {
    io.err(`nomad-gitops-bot rollout: ${message}\n`);
    return EXIT.usage;
  };

  let root = path.resolve(io.cwd, values.repo ?? ".");
  let read: (rel: string) => Promise<string>;
  if (values.sha !== undefined) {
    let sha: string;
    try {
      root = await git.repoRoot(root);
      sha = await git.revParse(root, values.sha);
    } catch (error) {
      return fail((error as Error).message);
    }
    read = async (rel) => (await git.git(root, ["show", `${sha}:${rel}`])).stdout;
  } else {
    read = (rel) => readFile(path.join(root, rel), "utf8");
  }

  const loaded = await readConfig(read, values.sha ? `${root} at ${values.sha}` : root);
  if (!loaded.ok) return fail(loaded.message);
  const { config } = loaded;
  const client = nomadClientFor(config.nomad, io.env);
  if (!client) return fail(`${CONFIG_PATH} sets no nomad.address: there is no cluster to ask`);

  let failed = false;
  const files: Array<{ path: string; text: string }> = [];
  for (const arg of positionals) {
    const rel = path.relative(root, path.resolve(io.cwd, arg)).split(path.sep).join("/");
    if (rel.startsWith("../") || path.isAbsolute(rel)) return fail(`${arg} is outside ${root}`);
    try {
      files.push({ path: rel, text: await read(rel) });
    } catch (error) {
      failed = true;
      io.err(
        `${rel}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n`,
      );
    }
  }
  const targets = await rolloutTargets(config, files);
  for (const f of files.filter((x) => !targets.some((t) => t.file === x.path))) {
    failed = true;
    io.err(`${f.path}: pins no image of a service in ${CONFIG_PATH} (or cannot be parsed)\n`);
  }

  // One look per target, in order: same cluster, and the output should not depend on timing.
  const rows: Row[] = [];
  for (const target of targets)
    rows.push({ target, check: await checkRollout(client, target), timedOut: false });

  if (values.wait) {
    const minutes = config.nomad?.follow_minutes || DEFAULT_FOLLOW_MINUTES;
    const outcomes = await followRollouts(
      rows.map((r) => ({ target: r.target, state: r.check.state, description: r.check.description })),
      {
        client,
        scheduler,
        minutes,
        onChange: (item) => {
          io.err(`${item.target.service} (job ${item.target.job}): ${item.state} — ${item.description}\n`);
          return Promise.resolve();
        },
      },
    );
    outcomes.forEach((o, i) => {
      const row = rows[i]!;
      if (o.last) row.check = o.last;
      if (o.timedOut) {
        row.timedOut = true;
        row.check = {
          ...row.check,
          state: "error",
          description: timeoutDescription(o, minutes, client.namespace),
        };
      }
    });
  }

  io.out(values.json ? `${JSON.stringify(rows.map(jsonRow), null, 2)}\n` : rows.map(textRow).join("\n"));
  const bad = rows.some((r) =>
    values.wait ? r.check.state !== "success" : ["failure", "error", "inactive"].includes(r.check.state),
  );
  return failed || bad ? EXIT.partial : EXIT.ok;
}

const short = (digest: string | null) => (digest ? shortDigest(digest) : "—");

function textRow(row: Row): string {
  const { target, check } = row;
  const s = check.summary;
  const lines = [
    `${target.service} (job ${target.job}, ${target.file}): ${check.state} — ${check.description}`,
  ];
  const version = check.running?.Version ?? s?.jobVersion;
  if (check.running === null) lines.push("  the cluster has no such job");
  else if (typeof version === "number") lines.push(`  job version ${version}`);
  for (const d of check.drift ?? []) {
    const where = [d.group, d.task].filter(Boolean).join("/") || "—";
    lines.push(`  ${where}: runs ${short(d.runningDigest)}, file pins ${short(d.pinned)} (${d.status})`);
  }
  if (s?.deploymentId) lines.push(`  deployment ${s.deploymentId.slice(0, 8)}: ${s.nomadStatus}`);
  for (const g of s?.groups ?? []) {
    lines.push(
      `  group ${g.name}: ${g.healthy}/${g.desired} healthy (${g.placed} placed, ${g.unhealthy} unhealthy)`,
    );
  }
  for (const f of s?.failures ?? []) {
    lines.push(`  allocation ${f.allocation.slice(0, 8)} ${f.group}/${f.task}:`);
    for (const e of f.events) lines.push(`    ${e}`);
  }
  return `${lines.join("\n")}\n`;
}

function jsonRow(row: Row) {
  const { target, check } = row;
  const s = check.summary;
  return {
    service: target.service,
    job: target.job,
    file: target.file,
    state: check.state,
    description: check.description,
    timedOut: row.timedOut,
    jobVersion: check.running?.Version ?? s?.jobVersion ?? null,
    images: (check.drift ?? []).map((d) => ({
      group: d.group,
      task: d.task,
      pinned: d.pinned,
      running: d.runningDigest,
      status: d.status,
    })),
    deployment: s?.deploymentId
      ? { id: s.deploymentId, status: s.nomadStatus, groups: s.groups, failures: s.failures }
      : null,
  };
}
