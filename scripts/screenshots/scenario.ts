// The texts the screenshots show, from the demo's own run (src/demo/main.ts: a throwaway registry, the
// sample monorepo, two pushes through the real `apply`, here with --json): the second push's PR comment
// and check run, and the deploy dashboard src/core/dashboard.ts renders for those two plans.
// What differs from one run to the next is replaced by fixed stand-ins of the same shape, so the same
// code renders the same page and the images change only when the output does: the commit ids (they hash
// the commit time and the registry's port), the registry's port, and the digests (skopeo compresses
// the layers on push, and another skopeo build may compress them to other bytes).
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import type { CliIO } from "../../src/cli/io.js";
import { DASHBOARD_TITLE, renderDashboard } from "../../src/core/dashboard.js";
import type { Plan, ServiceStatus } from "../../src/core/plan.js";
import { shortDigest, shortSha } from "../../src/core/templates.js";
import { runScenario } from "../../src/demo/main.js";
import { startLocalRegistry } from "../../src/demo/sandbox/registry.js";

export interface DemoTexts {
  /** The sticky PR comment (markdown). */
  comment: string;
  check: { conclusion: "success" | "neutral" | "failure"; title: string; summary: string };
  dashboard: { title: string; number: number; body: string };
}

// The subset of `apply --json` read here (src/cli/deploy.ts planJson plus apply's extra fields).
const digest = z.string().nullable();
const applyJson = z.object({
  build: z.object({ sha: z.string(), branch: z.string() }),
  tag: z.string(),
  counts: z.record(z.string(), z.number()),
  services: z.array(
    z.object({
      name: z.string(),
      image: z.string(),
      status: z.enum(["moved", "new", "unchanged", "not-built", "stale", "error"]),
      reason: z.string().optional(),
      old: z.object({ digest, tag: z.string().nullable(), commit: z.string().nullable() }),
      new: z.object({ digest, tag: z.string(), source: z.string() }).nullable(),
      files: z.array(z.string()),
    }),
  ),
  fileErrors: z.array(z.object({ file: z.string(), line: z.number().nullable(), error: z.string() })),
  unmanaged: z.array(
    z.object({ file: z.string(), line: z.number(), task: z.string().nullable(), reason: z.string() }),
  ),
  comment: z.string(),
  check: z.object({
    conclusion: z.enum(["success", "neutral", "failure"]),
    title: z.string(),
    summary: z.string(),
  }),
});
type ApplyJson = z.infer<typeof applyJson>;

/** The plan the dashboard needs, from the JSON `apply` printed (what it leaves out the dashboard does not read). */
function planOf(run: ApplyJson): Plan {
  return {
    build: run.build,
    tag: run.tag,
    counts: run.counts as Record<ServiceStatus, number>,
    services: run.services.map((s) => ({
      name: s.name,
      image: s.image,
      status: s.status,
      ...(s.reason ? { reason: s.reason } : {}),
      old: { ...s.old, mixed: false },
      next: s.new ? { ...s.new, tagged: true } : null,
      files: s.files,
      sites: [],
      unmanaged: [],
      retag: [],
      paths: [],
    })),
    fileErrors: run.fileErrors,
    unknownSites: run.unmanaged,
    configProblems: [],
  };
}

const hex = (algorithm: "sha1" | "sha256", text: string) => createHash(algorithm).update(text).digest("hex");

/**
 * Replaces this run's commit ids, digests and registry port with fixed stand-ins, full and short forms;
 * throws when a short form survives (a form of the value this does not know about).
 */
export function stabilizer(
  outcome: { shas: readonly string[]; registryHost: string },
  runs: ApplyJson[],
): (text: string) => string {
  const pairs: Array<[string, string, string, string]> = [];
  outcome.shas.forEach((sha, i) => {
    const standIn = hex("sha1", `nomad-gitops-bot demo: push ${i + 1}`);
    pairs.push([sha, standIn, shortSha(sha), shortSha(standIn)]);
  });
  const digests = [
    ...new Set(runs.flatMap((r) => r.services.flatMap((s) => [s.old.digest, s.new?.digest ?? null]))),
  ].filter((d): d is string => d !== null);
  digests.forEach((d, i) => {
    const standIn = `sha256:${hex("sha256", `nomad-gitops-bot demo: image ${i + 1}`)}`;
    pairs.push([d, standIn, shortDigest(d), shortDigest(standIn)]);
  });
  return (text) => {
    let out = text.replaceAll(outcome.registryHost, "127.0.0.1:5000");
    for (const [full, standIn] of pairs) out = out.replaceAll(full, standIn);
    for (const [, , short, standIn] of pairs) out = out.replaceAll(short, standIn);
    for (const [, , short] of pairs)
      if (out.includes(short)) throw new Error(`the demo's ${short} survived the stand-ins`);
    return out;
  };
}

/** When the two plans are shown to have run, for the dashboard (its only clock). */
const FIRST_RUN = new Date("2026-05-04T09:12:00Z");
const SECOND_RUN = new Date("2026-05-06T17:40:00Z");
/** The deploy PR and the dashboard issue as a repository would number them. */
const DEPLOY_PR = { number: 7, url: "https://github.com/acme/homelab/pull/7" };
const DASHBOARD_ISSUE = 3;

export async function demoTexts(): Promise<DemoTexts> {
  const work = await mkdtemp(path.join(os.tmpdir(), "nomad-gitops-screenshots-"));
  const registry = await startLocalRegistry();
  try {
    const lines: string[] = [];
    // Nothing of the caller's environment (GITHUB_REF_NAME names the branch, credentials) reaches it.
    const io: CliIO = {
      out: () => undefined,
      err: (text) => void lines.push(text),
      env: { PATH: process.env.PATH, REGISTRY_AUTH_FILE: path.join(work, "no-auth.json") },
      cwd: work,
      isTTY: false,
    };
    const outcome = await runScenario(io, registry, work, { json: true });
    if (outcome.first.exit !== 0 || outcome.second.exit !== 0)
      throw new Error(`the demo's apply failed:\n${lines.join("")}`);
    const runs = [outcome.first.output, outcome.second.output].map((text) =>
      applyJson.parse(JSON.parse(text)),
    );
    const [, second] = runs as [ApplyJson, ApplyJson];
    // "Digest last moved", as the App reads it from GitHub: the commit that last changed the job files'
    // pins, here the demo's merged deploy PR (dated at the first run, like the dashboard's clock).
    const deployed = (await outcome.repo.git("log", "-1", "--format=%H", "--", "nomad")).trim();
    const stable = stabilizer({ ...outcome, shas: [...outcome.shas, deployed] }, runs);
    const moved = { sha: deployed, date: FIRST_RUN.toISOString(), exact: true };

    // The dashboard after the second run: one move pending.
    const after = renderDashboard({
      plan: planOf(second),
      base: outcome.shas[1],
      pr: DEPLOY_PR,
      moves: Object.fromEntries(second.services.filter((s) => s.old.digest).map((s) => [s.name, moved])),
      now: SECOND_RUN,
    });
    return {
      comment: stable(second.comment),
      check: {
        conclusion: second.check.conclusion,
        title: stable(second.check.title),
        summary: stable(second.check.summary),
      },
      dashboard: { title: DASHBOARD_TITLE, number: DASHBOARD_ISSUE, body: stable(`${after}\n`) },
    };
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
