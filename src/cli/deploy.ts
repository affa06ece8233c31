// What `plan` and `apply` share: arguments, reading the repository's config and --images file,
// wiring the local ports into the core pipeline, and printing.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { type CliIO, EXIT, UsageError } from "./io.js";
import type { DeployResult, ProgressEvent } from "../core/ports.js";
import { parseImagesMap } from "../image/source.js";
import { type Plan, type ServicePlan, planComplete } from "../core/plan.js";
import { runFailures } from "../core/render.js";
import { shortDigest, shortSha } from "../core/templates.js";
import { describeAgreement } from "../core/builders.js";
import { hclParser, prepareRefereeEarly } from "../jobfile/parse.js";
import { runName } from "../provenance/describe.js";
import type { BundleRegistry } from "../registry/referrers.js";
import * as git from "../workspace/git.js";
import { localRepo } from "../workspace/repo.js";

/**
 * What a deploy runs on, loaded while git answers the first questions about the checkout: the
 * pipeline, the config's parsers and the registry client are most of the command's start-up.
 */
const loadDeployModules = () =>
  Promise.all([
    import("../config/load.js"),
    import("../core/pipeline.js"),
    import("../registry/client.js"),
    import("../explain/inspect.js"),
    import("../workspace/images.js"),
    import("../nomad/report.js"),
  ]).then(([config, pipeline, registry, explain, images, nomad]) => ({
    readConfig: config.readConfig,
    runDeploy: pipeline.runDeploy,
    createRegistryClient: registry.createRegistryClient,
    createExplainer: explain.createExplainer,
    localImageSource: images.localImageSource,
    clusterReportFor: nomad.clusterReportFor,
  }));
type DeployModules = Awaited<ReturnType<typeof loadDeployModules>>;

/** Bad input that is not an argument mistake (config, --images file): exit 2 without the usage text. */
export class InputError extends Error {}

export interface DeployArgs {
  repo: string;
  sha: string;
  images: string | undefined;
  json: boolean;
  quiet: boolean;
  commit: string | undefined;
  /** `--commit` may rewrite a branch holding commits HEAD lacks. */
  force: boolean;
}

export function parseDeployArgs(argv: string[], io: CliIO, apply: boolean): DeployArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        repo: { type: "string" },
        sha: { type: "string" },
        images: { type: "string" },
        json: { type: "boolean", default: false },
        ...(apply
          ? {
              commit: { type: "string" },
              force: { type: "boolean", default: false },
              quiet: { type: "boolean", default: false },
            }
          : {}),
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  for (const key of ["repo", "sha", "images", "commit"]) {
    if (v[key] === "") throw new UsageError(`--${key} needs a value`);
  }
  return {
    repo: path.resolve(io.cwd, (v.repo as string | undefined) ?? "."),
    sha: (v.sha as string | undefined) ?? "HEAD",
    images: v.images === undefined ? undefined : path.resolve(io.cwd, v.images as string),
    json: v.json === true,
    quiet: v.quiet === true,
    commit: v.commit as string | undefined,
    force: v.force === true,
  };
}

/** `{service: "docker-archive:PATH" | "oci:DIR" | "REF"}`; relative paths are relative to the file. */
export function parseImagesFile(text: string, file: string): Record<string, string> {
  const parsed = parseImagesMap(text, path.dirname(file));
  if (!parsed.ok) throw new InputError(`--images ${file}: ${parsed.error}`);
  return parsed.sources;
}

/** The config from the working tree, or from commit `at` (what `apply --commit` builds on). */
async function loadConfig(
  readConfig: DeployModules["readConfig"],
  root: string,
  at: string | undefined,
): Promise<Config> {
  const read = at
    ? async (rel: string) => {
        const blob = (await git.readBlobs(root, at, [rel])).get(rel);
        if (blob === undefined) throw Object.assign(new Error(`${rel} not in ${at}`), { code: "ENOENT" });
        return blob.toString("utf8");
      }
    : (rel: string) => readFile(path.join(root, rel), "utf8");
  const loaded = await readConfig(read, at ? `${root} at HEAD` : root);
  if (!loaded.ok) throw new InputError(loaded.message);
  return loaded.config;
}

/**
 * Progress lines, written together: one write (and one redaction) per batch instead of one per service,
 * the same bytes in the same order. A batch leaves after PROGRESS_BATCH_MS, and whatever is left when
 * the deploy ends, however it ends.
 */
export function progressPrinter(io: CliIO): { print: (e: ProgressEvent) => void; flush: () => void } {
  let done = 0;
  let total = 0;
  let pending = "";
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    const text = pending;
    pending = "";
    io.err(text);
  };
  const write = (text: string) => {
    pending += text;
    // Unref'd: a batch never keeps the process alive; the deploy flushes what is left as it ends.
    timer ??= setTimeout(flush, PROGRESS_BATCH_MS).unref();
  };
  const print = (e: ProgressEvent) => {
    if (e.kind === "scan") {
      total = e.services;
      write(
        `scanned ${e.files} job file${e.files === 1 ? "" : "s"}, ${e.services} service${e.services === 1 ? "" : "s"}\n`,
      );
      return;
    }
    if (e.step === "resolve" && e.done) done += 1;
    const line = `[${done}/${total}] ${e.service}: ${e.step}${e.done ? ` ${e.detail ?? "done"}` : "…"}`;
    // A terminal gets one line redrawn in place; CI logs get a line per finished step.
    if (io.isTTY) write(`\r\x1b[K${line}`);
    else if (e.done) write(`${line}\n`);
  };
  return { print, flush };
}

/** How long progress lines may wait to be written together: a person does not see the delay. */
const PROGRESS_BATCH_MS = 100;

export async function deploy(
  args: DeployArgs,
  io: CliIO,
  mode: "plan" | "apply",
  /** Read the config and job files at this commit instead of the working tree (`apply --commit`). */
  at?: string,
): Promise<{ result: DeployResult; root: string; config: Config }> {
  // Start-up overlaps: the modules load and tree-sitter's wasm compiles while the git processes run.
  // The referee that proves edits loads from now on, at idle priority (see prepareRefereeEarly).
  prepareRefereeEarly();
  const loading = loadDeployModules();
  loading.catch(() => {}); // a failure is met where it is awaited
  hclParser().catch(() => {}); // the same: the scan awaits this parser
  let root: string;
  let sha: string;
  let branchName: string | null;
  let repoUrl: string | null;
  let repo: ReturnType<typeof localRepo>;
  try {
    root = await git.repoRoot(args.repo);
    repo = localRepo(root, at ? { at } : {});
    // The repository's file listing (one more git process) starts now; the scan reads it later.
    repo.listFiles([]).catch(() => {});
    // Independent reads of the checkout, each a git process: together, not one after another.
    [sha, branchName, repoUrl] = await Promise.all([
      git.revParse(root, args.sha),
      io.env.GITHUB_REF_NAME || git.currentBranch(root),
      git.remoteWebUrl(root),
    ]);
  } catch (error) {
    throw new InputError((error as Error).message);
  }
  const { readConfig, runDeploy, createRegistryClient, createExplainer, localImageSource, clusterReportFor } =
    await loading;
  const config = await loadConfig(readConfig, root, at);
  let sources: Record<string, string> | undefined;
  if (args.images !== undefined) {
    let text: string;
    try {
      text = await readFile(args.images, "utf8");
    } catch (error) {
      throw new InputError(
        `--images ${args.images}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    sources = parseImagesFile(text, args.images);
  }
  const branch = branchName || "HEAD";
  const client = createRegistryClient({ env: io.env });
  const showProgress = !args.json && !args.quiet;
  const cluster = mode === "apply" ? clusterReportFor(config.nomad, io.env) : undefined;
  const provenance = config.provenance?.require ? await provenanceFrom(io.env, repoUrl, client) : undefined;
  const progress = showProgress ? progressPrinter(io) : undefined;
  let result: DeployResult;
  try {
    result = await runDeploy({
      config,
      build: { sha, branch },
      repo,
      registry: client,
      // Moves no commit explains get an explanation (config, layers, files) in the plan and comment.
      explainer: createExplainer(client),
      mode,
      ...(sources ? { images: { sources, port: localImageSource(client, { cwd: root, env: io.env }) } } : {}),
      ...(repoUrl ? { repoUrl } : {}),
      // What the App adds with `nomad.address`: plan previews in the comment, drift in the check run.
      ...(cluster ? { cluster } : {}),
      ...(provenance ? { provenance } : {}),
      ...(progress ? { onProgress: progress.print } : {}),
    });
  } finally {
    progress?.flush();
  }
  if (showProgress && io.isTTY) io.err("\r\x1b[K");
  return { result, root, config };
}

const STATUS_TEXT: Record<ServicePlan["status"], string> = {
  moved: "moved",
  new: "new",
  unchanged: "unchanged",
  "not-built": "not built",
  stale: "older build",
  unverified: "unverified",
  awaiting: "awaiting builders",
  error: "error",
};

function serviceLine(s: ServicePlan): [string, string, string, string] {
  const next = s.next?.digest ? shortDigest(s.next.digest) : s.next ? "(on push)" : "";
  let what = "";
  if (s.status === "moved" || s.status === "stale") what = `${shortDigest(s.old.digest)} → ${next}`;
  else if (s.status === "new") what = `→ ${next}`;
  else if (s.status === "unchanged") what = shortDigest(s.old.digest);
  const agreed =
    s.agreement && !s.agreement.notReproducible && s.status !== "awaiting"
      ? `builders ${describeAgreement(s.agreement)}`
      : "";
  const note =
    refusedNote(s) ??
    [
      s.reason ?? (s.status === "moved" || s.status === "new" ? s.files.join(", ") : ""),
      s.provenance?.status === "verified" ? verifiedNote(s.provenance.link) : "",
      agreed,
    ]
      .filter(Boolean)
      .join("; ");
  if (s.reencoded) {
    const why = `re-encoded: build's ${shortDigest(s.reencoded.digest)} has the same content (${s.reencoded.reason}); pin kept`;
    return [s.name, "unchanged (re-encoded)", what, why];
  }
  return [s.name, STATUS_TEXT[s.status], what, note];
}

/** Refused by its builders although the build's signature checks out: the outcome first, as the check run. */
function refusedNote(s: ServicePlan): string | undefined {
  const v = s.provenance;
  if (s.status !== "unverified" || v?.status !== "verified" || !s.agreement) return undefined;
  return [
    `not pinned: ${s.reason ?? "builders refused it"}`,
    `agreed: ${describeAgreement(s.agreement)}`,
    `the build's own ${verifiedNote(v.link)}`,
  ].join("; ");
}

/** A verified move in the text plan: compact; the run's link is in `--json` and the check run. */
const verifiedNote = (link: string | undefined) => `provenance verified${link ? ` (${runName(link)})` : ""}`;

function reencodedCount(plan: Plan): string {
  const n = plan.services.filter((s) => s.reencoded).length;
  return n > 0 ? ` (${n} re-encoded)` : "";
}

/** The human-readable table of a plan. */
export function formatPlan(plan: Plan): string {
  const rows = plan.services.map(serviceLine);
  // Each column's width once, not once per row (a plan of 500 services read every row 1,500 times).
  const width = [0, 1, 2].map((i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  const lines = [`build ${shortSha(plan.build.sha)} (${plan.build.branch}), tag ${plan.tag}`];
  for (const r of rows) {
    lines.push(
      `  ${r[0].padEnd(width[0]!)}  ${r[1].padEnd(width[1]!)}  ${r[2].padEnd(width[2]!)}  ${r[3]}`.trimEnd(),
    );
  }
  if (rows.length === 0) lines.push("  (no services found)");
  for (const p of plan.configProblems) lines.push(`config ${p.key}: ${p.message}`);
  for (const f of plan.fileErrors)
    lines.push(`skipped ${f.line === null ? f.file : `${f.file}:${f.line}`}: ${f.error}`);
  for (const u of plan.unknownSites) lines.push(`not managed ${u.file}:${u.line}: ${u.reason}`);
  const c = plan.counts;
  lines.push(
    // "skipped" is said of job files only: a service whose build is older is counted as such.
    `${c.moved} moved, ${c.new} new, ${c.unchanged} unchanged${reencodedCount(plan)}, ${c["not-built"]} not built, ${c.stale} older build${c.stale === 1 ? "" : "s"}, ${c.unverified > 0 ? `${c.unverified} unverified, ` : ""}${c.awaiting > 0 ? `${c.awaiting} awaiting builders, ` : ""}${c.error} error${c.error === 1 ? "" : "s"}` +
      (plan.fileErrors.length > 0
        ? `, ${plan.fileErrors.length} job file${plan.fileErrors.length === 1 ? "" : "s"} skipped`
        : ""),
  );
  return `${lines.join("\n")}\n`;
}

/** The data `--json` prints: the plan plus what apply did. */
export function planJson(result: DeployResult, extra: Record<string, unknown> = {}) {
  const p = result.plan;
  return {
    build: p.build,
    tag: p.tag,
    counts: p.counts,
    // Whether "nothing moved" means "nothing to deploy": the App's rule for closing an open deploy PR,
    // so a workflow closes one exactly when the App would (docs/ci.md), never on an older build.
    complete: planComplete(p),
    services: p.services.map((s) => ({
      name: s.name,
      image: s.image,
      status: s.status,
      ...(s.reason ? { reason: s.reason } : {}),
      old: { digest: s.old.digest, tag: s.old.tag, commit: s.old.commit },
      new: s.next ? { digest: s.next.digest, tag: s.next.tag, source: s.next.source } : null,
      files: s.files,
      ...(s.status === "unchanged" ? { retag: s.retag } : {}),
      ...(s.reencoded ? { reencoded: s.reencoded } : {}),
      ...(s.provenance ? { provenance: s.provenance } : {}),
      ...(s.agreement ? { agreement: { ...s.agreement, text: describeAgreement(s.agreement) } } : {}),
      ...(result.commits[s.name] ? { commits: result.commits[s.name] } : {}),
    })),
    configProblems: p.configProblems,
    fileErrors: p.fileErrors,
    unmanaged: p.unknownSites,
    files: result.files.map((f) => f.path),
    ...(result.skipped ? { skipped: result.skipped } : {}),
    ...extra,
  };
}

/** 1 exactly when the check run would fail (`runFailures`); services awaiting builders are not failures. */
export const exitCodeOf = (plan: Plan) => (runFailures(plan) > 0 ? EXIT.partial : EXIT.ok);

/**
 * With `provenance:` required, attestations come from GitHub's API when GITHUB_TOKEN is set and the
 * checkout's remote is on github.com (with the bundles attached beside each image in the registry, as the
 * App and the Action read them); otherwise none, and moved digests are reported unverified. The API is
 * at GITHUB_API_URL when set (as the Actions runner sets it), else https://api.github.com.
 */
async function provenanceFrom(
  env: NodeJS.ProcessEnv,
  repoUrl: string | null | undefined,
  /** Bundles attached beside an image (push-to-registry, a key builder's) are read as the App reads them. */
  registry: BundleRegistry,
) {
  const match = repoUrl?.match(/^https:\/\/github\.com\/([^/]+)\/([^/]+?)(?:\.git)?$/);
  if (!env.GITHUB_TOKEN || !match) return undefined;
  const { githubProvenance } = await import("../github/attestations.js");
  const { octokitForToken } = await import("../github/octokit.js");
  const coords = { owner: match[1]!, repo: match[2]! };
  return githubProvenance(
    octokitForToken(env.GITHUB_TOKEN, {
      repository: `${coords.owner}/${coords.repo}`,
      ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
    }),
    coords,
    env.GITHUB_REPOSITORY_ID,
    registry,
  );
}
