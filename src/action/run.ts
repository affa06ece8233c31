// The GitHub Action: what the App does after a build, driven by the workflow's token instead of an App
// installation, through the same deploy flow (handlers/deploy.ts) and GitHub layer (src/github): plan,
// push moved archives, retag unchanged images, one commit on the deploy branch through the API, the
// rolling PR, the sticky comment, the check run, the release draft, the dashboard. Inputs come as the
// runner passes them (INPUT_* variables); outputs and the job summary go to the runner's files.
import { appendFile, readFile } from "node:fs/promises";
import path from "node:path";
import { exitCodeOf, parseImagesFile, planJson } from "../cli/deploy.js";
import { CONFIG_PATH, parseConfigText } from "../config/load.js";
import { type Config, formatConfigErrors } from "../config/schema.js";
import { changing } from "../core/plan.js";
import { createExplainer } from "../explain/inspect.js";
import { githubProvenance } from "../github/attestations.js";
import { GitHubRepo } from "../github/repo.js";
import { probedPermissions } from "../github/permissions.js";
import type { RepoCoords } from "../github/types.js";
import { type DeployReport, type DeployTarget, deployTo } from "../handlers/deploy.js";
import { createRegistryClient } from "../registry/client.js";
import { localImageSource } from "../workspace/images.js";
import { BranchMissingError, type DryRunReport, dryRun, dryRunSentence } from "./dry-run.js";
import { actionOctokit } from "./client.js";
import { readActionEvent } from "./event.js";
import { mergeQueueOutcome } from "./merge-queue.js";

export type Env = Readonly<Record<string, string | undefined>>;

export interface ActionInputs {
  token: string;
  config: string;
  sha: string;
  branch: string;
  images: string | undefined;
  dryRun: boolean;
  /** Registry hosts (host[:port]) reached over plain HTTP, as NOMAD_GITOPS_INSECURE_REGISTRIES lists them. */
  insecureRegistries: string[];
  /** The build commit's timestamp, from the event. */
  date?: Date;
}

/** A problem with the inputs or the config: reported as the step's error, nothing written anywhere. */
export class ActionInputError extends Error {}

/** An input as the runner passes it: `INPUT_` + the name upper-cased, spaces as `_` (hyphens kept). */
export function input(env: Env, name: string): string {
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

export async function readInputs(env: Env): Promise<ActionInputs> {
  const token = input(env, "token");
  if (!token)
    throw new ActionInputError("input `token` is empty (the default is the workflow's github.token)");
  const event = await readActionEvent(env.GITHUB_EVENT_PATH);
  const run = event.workflow_run;
  // The build commit's time dates the release notes and the dashboard, so a re-run writes the same text.
  const stamp = run?.head_commit?.timestamp ?? event.head_commit?.timestamp;
  const date = stamp && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp) : undefined;
  const sha = input(env, "sha") || run?.head_sha || env.GITHUB_SHA || "";
  const branch = input(env, "branch") || run?.head_branch || env.GITHUB_REF_NAME || "";
  if (!/^[0-9a-f]{40}$/.test(sha))
    throw new ActionInputError(`input \`sha\` must be a full commit sha, got ${JSON.stringify(sha)}`);
  if (!branch) throw new ActionInputError("input `branch` is empty and the event names none");
  const dryRun = input(env, "dry-run");
  if (!["", "true", "false"].includes(dryRun))
    throw new ActionInputError(`input \`dry-run\` must be true or false, got ${JSON.stringify(dryRun)}`);
  const images = input(env, "images");
  return {
    token,
    config: input(env, "config") || CONFIG_PATH,
    sha,
    branch,
    images: images ? path.resolve(env.GITHUB_WORKSPACE ?? process.cwd(), images) : undefined,
    dryRun: dryRun === "true",
    insecureRegistries: hostList(input(env, "insecure-registries")),
    ...(date ? { date } : {}),
  };
}

/** `host[:port]` entries, separated by commas or lines (a YAML block), as the registry is named in images. */
function hostList(text: string): string[] {
  const hosts = text
    .split(/[,\n]/)
    .map((h) => h.trim())
    .filter(Boolean);
  for (const host of hosts)
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host))
      throw new ActionInputError(
        `input \`insecure-registries\`: ${JSON.stringify(host)} is not host[:port] (e.g. registry.lan:5000, no scheme or path)`,
      );
  return hosts;
}

export function coordsFrom(env: Env): RepoCoords {
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo || rest.length > 0)
    throw new ActionInputError(
      `GITHUB_REPOSITORY must be owner/name, got ${JSON.stringify(env.GITHUB_REPOSITORY)}`,
    );
  return { owner, repo };
}

/** The config at the build commit, read through the API (no checkout needed). */
async function readConfig(repo: GitHubRepo, sha: string, file: string): Promise<Config> {
  const text = (await repo.readTexts(sha, [file])).get(file);
  if (text === null || text === undefined)
    throw new ActionInputError(
      `no ${file} at ${sha.slice(0, 7)} (at least \`registry: <image prefix>\` is needed)`,
    );
  if (typeof text !== "string") throw new ActionInputError(`${file}: ${text.unreadable}`);
  const loaded = parseConfigText(text);
  if (!loaded.ok) throw new ActionInputError(`invalid ${file}:\n${formatConfigErrors(loaded.errors)}`);
  return loaded.config;
}

export interface ActionOutcome {
  outputs: Record<string, string>;
  summary: string;
  /**
   * Exit code: 0 done (services awaiting builders included: not yet, not failed), 1 some service, job
   * file or config key could not be handled, or a digest was refused (the rest was still done).
   */
  exitCode: number;
}

export async function runAction(env: Env, log: DeployTarget["log"]): Promise<ActionOutcome> {
  const queue = await mergeQueueOutcome(env); // the merge queue's trial merge: never deployed
  if (queue) return queue;
  const inputs = await readInputs(env);
  const coords = coordsFrom(env);
  const octokit = actionOctokit(env, inputs.token, coords);
  const repo = new GitHubRepo(octokit, coords);
  const config = await readConfig(repo, inputs.sha, inputs.config);
  // The input adds to what the step's env may already list: the registry client and skopeo read it there.
  const registryEnv: Env = {
    ...env,
    NOMAD_GITOPS_INSECURE_REGISTRIES: [
      env.NOMAD_GITOPS_INSECURE_REGISTRIES ?? "",
      ...inputs.insecureRegistries,
    ]
      .filter(Boolean)
      .join(","),
  };
  const registry = createRegistryClient({ env: registryEnv as NodeJS.ProcessEnv });
  const images = inputs.images
    ? {
        sources: parseImagesFile(await readImages(inputs.images), inputs.images),
        port: localImageSource(registry, {
          cwd: env.GITHUB_WORKSPACE ?? process.cwd(),
          env: registryEnv as NodeJS.ProcessEnv,
        }),
      }
    : undefined;
  const repoUrl = `${env.GITHUB_SERVER_URL || "https://github.com"}/${coords.owner}/${coords.repo}`;

  let report: DeployReport;
  if (inputs.dryRun) {
    const dry = await dryRun({
      octokit,
      coords,
      repo,
      config,
      sha: inputs.sha,
      branch: inputs.branch,
      registry,
      explainer: createExplainer(registry),
      ...(images ? { images } : {}),
      repoUrl,
      ...(inputs.date ? { date: inputs.date } : {}),
      ...(config.provenance?.require
        ? { provenance: githubProvenance(octokit, coords, env.GITHUB_REPOSITORY_ID, registry) }
        : {}),
    }).catch((error: unknown) => {
      throw error instanceof BranchMissingError ? new ActionInputError(error.message) : error;
    });
    return describeOutcome(dry, dryRunSentence(dry));
  } else {
    report = await deployTo(
      // The workflow token's permissions cannot be read: probed before the first write (github/permissions.ts).
      {
        octokit,
        coords,
        log,
        repoUrl,
        permissions: probedPermissions(octokit, coords, inputs.branch),
        ...(env.GITHUB_REPOSITORY_ID ? { repositoryId: env.GITHUB_REPOSITORY_ID } : {}),
      },
      { registry, explainer: createExplainer(registry), botLogin: async () => "github-actions[bot]" },
      {
        config,
        branch: inputs.branch,
        sha: inputs.sha,
        // Each attempt of the workflow run owns one check run: re-running the job plans again, a step
        // retried within the same attempt finds its run completed and writes nothing.
        attempt: {
          kind: "build",
          runId: Number(env.GITHUB_RUN_ID) || 0,
          attempt: Number(env.GITHUB_RUN_ATTEMPT) || 1,
        },
        ...(inputs.date ? { date: inputs.date } : {}),
        ...(images ? { images } : {}),
      },
    );
  }
  return describeOutcome(report, null);
}

async function readImages(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new ActionInputError(
      `input \`images\`: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
}

/** The outputs and summary; `dryRun` is the dry run's sentence on what a real run would have done. */
function describeOutcome(report: DeployReport | DryRunReport, dryRun: string | null): ActionOutcome {
  const result = report.result;
  if (!result) {
    const why =
      report.outcome === "already-done"
        ? "This attempt of the workflow run has already completed its check run: nothing to do."
        : "The deploy branch no longer exists: nothing was planned.";
    return {
      outputs: {
        moved: "",
        unchanged: "",
        "pr-number": "",
        "pr-url": "",
        "plan-json": JSON.stringify({ outcome: report.outcome }),
      },
      summary: `### nomad-gitops\n\n${why}\n`,
      exitCode: report.outcome === "already-done" ? 0 : 1,
    };
  }
  const plan = result.plan;
  const moved = changing(plan).map((s) => s.name);
  const unchanged = plan.services.filter((s) => s.status === "unchanged").map((s) => s.name);
  const lines = [
    `### nomad-gitops${dryRun ? " (dry run: nothing written)" : ""}`,
    "",
    result.check.title,
    "",
  ];
  if (report.pr) lines.push(`Deploy PR: [#${report.pr.number}](${report.pr.url})`, "");
  if (dryRun) lines.push(dryRun, "");
  lines.push(result.check.summary.trimEnd(), "");
  return {
    outputs: {
      moved: moved.join(","),
      unchanged: unchanged.join(","),
      "pr-number": report.pr ? String(report.pr.number) : "",
      "pr-url": report.pr?.url ?? "",
      "plan-json": JSON.stringify(
        planJson(result, { outcome: report.outcome, ...(dryRun ? { dryRun: true } : {}) }),
      ),
    },
    summary: lines.join("\n"),
    // The CLI's exit code, which fails exactly when the check run does; awaiting builders is not a failure.
    exitCode: exitCodeOf(plan),
  };
}

/** Appends outputs to $GITHUB_OUTPUT in the runner's multi-line form (a delimiter the value cannot hold). */
export async function writeOutputs(file: string | undefined, outputs: Record<string, string>): Promise<void> {
  if (!file) return;
  let text = "";
  for (const [name, value] of Object.entries(outputs)) {
    let delimiter = "ngb_EOF";
    while (value.includes(delimiter)) delimiter += "_";
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  await appendFile(file, text);
}

export async function writeSummary(file: string | undefined, summary: string): Promise<void> {
  if (file) await appendFile(file, `${summary.trimEnd()}\n`);
}
