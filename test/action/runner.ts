// The GitHub Action run as the Actions runner runs it, for its end-to-end test and its benchmark: the
// bundle of the current sources (scripts/build-action.mjs --out, so dist-action/ is left alone) copied
// where no node_modules is above it, `node index.js` with the runner's environment: every input of
// action.yml as INPUT_* (defaults applied, as the runner does), GITHUB_* (the API at the stand-in),
// RUNNER_*, and the files the runner reads back (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV, …).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { parse } from "yaml";
import { z } from "zod";
import { type GitHubStandIn, workflowRunPayload } from "../helpers/github-api/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Builds the Action's bundle from the current sources into a new directory under `parent`; its index.js. */
export async function buildActionBundle(parent = os.tmpdir()): Promise<string> {
  const dir = mkdtempSync(path.join(parent, "ngb-action-bundle-"));
  const built = await execa(process.execPath, ["scripts/build-action.mjs", "--out", dir], {
    cwd: root,
    reject: false,
  });
  if (built.exitCode !== 0) throw new Error(`building the Action failed:\n${built.stderr}`);
  return path.join(dir, "index.js");
}

const actionYml = z.object({
  inputs: z.record(z.string(), z.object({ default: z.string().optional() })),
  runs: z.object({ using: z.string(), main: z.string() }),
});

/** action.yml's inputs and their defaults, `${{ github.token }}` standing for the workflow token. */
export function actionInputs(): Record<string, string> {
  const yml = actionYml.parse(parse(readFileSync(path.join(root, "action.yml"), "utf8")));
  return Object.fromEntries(Object.entries(yml.inputs).map(([name, i]) => [name, i.default ?? ""]));
}

export interface ActionRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** From starting `node` to its exit, as the runner's step takes. */
  wallMs: number;
}

export interface RunOptions {
  entry: string;
  api: GitHubStandIn;
  token: string;
  repo: string;
  /** The build commit: the workflow_run's head_sha. */
  sha: string;
  branch?: string;
  run?: { id: number; attempt: number };
  /** `with:` of the step. */
  inputs?: Record<string, string>;
  /** `env:` of the step. */
  env?: Record<string, string>;
  /** Options for `node` before the entry (e.g. --cpu-prof, to see where a run's time goes). */
  nodeArgs?: string[];
  /** Where the run's directory (workspace, temp, runner files) is made. */
  parent?: string;
}

let runNumber = 1;

/** The step, as the runner runs `uses: nomad-gitops/nomad-gitops-bot@v1` on a `workflow_run` event. */
export async function runActionStep(o: RunOptions): Promise<ActionRun> {
  const dir = mkdtempSync(path.join(o.parent ?? os.tmpdir(), "ngb-action-run-"));
  const file = (name: string, text = "") => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const branch = o.branch ?? "main";
  const run = o.run ?? { id: 9000 + runNumber, attempt: 1 };
  const number = runNumber++;
  const event = workflowRunPayload(o.api, o.repo, {
    sha: o.sha,
    branch,
    runId: run.id,
    attempt: run.attempt,
  });
  const declared = actionInputs();
  // The runner warns about an input action.yml does not declare: here it is an error, so action.yml and
  // what the tests pass cannot drift apart.
  const unknown = Object.keys(o.inputs ?? {}).filter((name) => !(name in declared));
  if (unknown.length > 0) throw new Error(`inputs not declared in action.yml: ${unknown.join(", ")}`);
  const given = { ...declared, ...o.inputs };
  const inputs = Object.fromEntries(
    Object.entries(given).map(([name, value]) => [
      `INPUT_${name.replace(/ /g, "_").toUpperCase()}`,
      value === "${{ github.token }}" ? o.token : value,
    ]),
  );
  const workspace = path.join(dir, "workspace");
  const temp = path.join(dir, "temp");
  for (const d of [workspace, temp]) mkdirSync(d);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_ACTION: "deploy",
    GITHUB_ACTION_PATH: path.dirname(o.entry),
    GITHUB_ACTOR: "octocat",
    GITHUB_JOB: "deploy",
    GITHUB_WORKFLOW: "deploy",
    GITHUB_RUN_ID: String(run.id),
    GITHUB_RUN_NUMBER: String(number),
    GITHUB_RUN_ATTEMPT: String(run.attempt),
    GITHUB_REPOSITORY: o.repo,
    GITHUB_REPOSITORY_OWNER: o.repo.split("/")[0]!,
    GITHUB_REPOSITORY_ID: String(o.api.repo(o.repo).id),
    // A workflow_run workflow runs on the default branch's head; the build is in the event.
    GITHUB_REF: `refs/heads/${branch}`,
    GITHUB_REF_NAME: branch,
    GITHUB_REF_TYPE: "branch",
    GITHUB_SHA: o.api.repo(o.repo).refs.get(`refs/heads/${branch}`) ?? o.sha,
    GITHUB_EVENT_NAME: "workflow_run",
    GITHUB_EVENT_PATH: file("event.json", JSON.stringify(event)),
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_API_URL: o.api.url,
    GITHUB_GRAPHQL_URL: `${o.api.url}/graphql`,
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: file("output"),
    GITHUB_STEP_SUMMARY: file("summary.md"),
    GITHUB_ENV: file("env"),
    GITHUB_PATH: file("path"),
    GITHUB_STATE: file("state"),
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    RUNNER_NAME: "stand-in runner",
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: path.join(dir, "tools"),
    ...inputs,
    ...o.env,
  };
  const started = performance.now();
  const result = await execa(process.execPath, [...(o.nodeArgs ?? []), o.entry], {
    cwd: workspace,
    extendEnv: false,
    env,
    reject: false,
  });
  const wallMs = performance.now() - started;
  return {
    exitCode: result.exitCode ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: parseOutputs(readFileSync(env.GITHUB_OUTPUT!, "utf8")),
    summary: readFileSync(env.GITHUB_STEP_SUMMARY!, "utf8"),
    wallMs,
  };
}

/** The runner's `name<<DELIMITER` blocks in GITHUB_OUTPUT. */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) out[m[1]!] = m[3]!;
  return out;
}
