// One deploy run behind small ports, shared by the GitHub App and the CLI: read the job files, resolve
// every service's new digest, plan, edit, write release notes, render, and (apply) touch the registry.
// Nothing here knows about Probot, Octokit, git or the filesystem.
import type { Config } from "../config/schema.js";
import {
  type ImageSite,
  type JobFileScan,
  analyseJobFile,
  findImages,
  publicSite,
} from "../jobfile/jobfile.js";
import { canonicalRepository, parseImageRef, repositoryOf, sameRepository } from "../image/reference.js";
import { parseImageSource } from "../image/source.js";
import { matchesAny } from "./glob.js";
import { type Discovery, type DiscoveredService, discoverServices, jobGlobs } from "./discovery.js";
import { type FileChange, editJobFiles } from "./edits.js";
import {
  type Plan,
  type Relation,
  type ResolvedImage,
  changing,
  countStatuses,
  deployedCommits,
  pinnedState,
  plan as makePlan,
} from "./plan.js";
import {
  type Commit,
  type CommitLog,
  prependReleaseNotes,
  releaseNotesTargets,
  renderReleaseNotes,
} from "./release-notes.js";
import { type CheckRunOutput, renderCheckRun, renderComment, renderPrBody, renderPrTitle } from "./render.js";
import { type BuildInfo, renderTag } from "./templates.js";
import type { Explanation } from "../explain/types.js";

/** The repository at one revision (App: GitHub API at the branch head; CLI: working tree + git). */
export interface RepoPort {
  /** Repository-relative paths of the files matching any glob. */
  listFiles(globs: string[]): Promise<string[]>;
  /**
   * Texts of the files that exist (missing ones are left out of the map). A file that cannot be read
   * as text (binary, too large for the API, unreadable) maps to the reason: an error for it alone.
   */
  readFiles(paths: string[]): Promise<Map<string, string | Unreadable>>;
  /** Commits in from..to (from excluded) that touch any of the path globs, newest first. */
  commitsTouching(from: string, to: string, paths: string[]): Promise<Commit[]>;
  /** Where `head` stands relative to `base`; absent → "unknown" (no never-downgrade check). */
  compare?(base: string, head: string): Promise<Relation>;
}

export interface Unreadable {
  unreadable: string;
}

/** The registry calls a run needs: a subset of src/registry's RegistryClient, so it plugs in directly. */
export interface RegistryPort {
  digest(ref: string): Promise<string>;
  retag(
    ref: string,
    tags: string[],
  ): Promise<Array<{ tag: string; status: "created" | "exists"; digest: string }>>;
}

/** Local image sources (`--images`: docker-archive:PATH, oci:DIR): compare without upload, push. */
export interface ImageSourcePort {
  sameImage(source: string, ref: string): Promise<{ same: boolean; reason: string }>;
  push(source: string, ref: string): Promise<{ digest: string; pushed: boolean }>;
}

export interface Clock {
  now(): Date;
}

export type ProgressEvent =
  | { kind: "scan"; files: number; services: number }
  | { kind: "service"; service: string; step: "resolve" | "push" | "retag"; done: boolean; detail?: string };

export interface DeployOptions {
  config: Config;
  build: BuildInfo;
  repo: RepoPort;
  registry: RegistryPort;
  /** plan: read-only; apply: push moved archives, retag unchanged images, create missing pinned tags. */
  mode: "plan" | "apply";
  /** `--images`: service → source; services not in it are resolved by tag. */
  images?: { sources: Readonly<Record<string, string>>; port: ImageSourcePort };
  /** The commit the edits are based on (deploy branch head): a build behind it changes nothing. */
  base?: string;
  repoUrl?: string;
  clock?: Clock;
  /** Also validate every job file with hcl2-parser while scanning (slower; see scanJobFiles). */
  strictScan?: boolean;
  /** Explains moves no commit accounts for (non-reproducible builds); absent → they are only flagged. */
  explainer?: { explain(a: string, b: string): Promise<Explanation> };
  /** Parallel registry calls (default 8). */
  concurrency?: number;
  onProgress?(event: ProgressEvent): void;
}

export interface RegistryAction {
  service: string;
  action: "push" | "retag";
  ref: string;
  tags?: string[];
  result: "pushed" | "skipped" | "created" | "exists" | "failed";
  detail?: string;
}

export interface DeployResult {
  plan: Plan;
  /** Changed files with their new texts: job files, then release notes files. */
  files: FileChange[];
  /** This deploy's release notes section ("" when nothing changed). */
  releaseNotes: string;
  commits: Record<string, CommitLog>;
  prTitle: string;
  prBody: string;
  comment: string;
  check: CheckRunOutput;
  registry: RegistryAction[];
  /** Set when the whole build was skipped (older than `base`). */
  skipped?: string;
}

const isNotFound = (error: unknown) => (error as { status?: unknown }).status === 404;
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Scans every job file. By default with tree-sitter only (about 8× faster than findImages, which also
 * runs hcl2-parser): a file is only ever edited by pinImages, which re-validates strictly, so a file
 * that only hcl2-parser rejects can still not be written; it is merely not reported until then.
 */
export async function scanJobFiles(
  repo: RepoPort,
  config: Config,
  options: { strict?: boolean; onFile?: (path: string, scan: JobFileScan) => void } = {},
): Promise<{ discovery: Discovery; texts: Map<string, string> }> {
  const paths = await repo.listFiles(jobGlobs(config));
  const read = await repo.readFiles(paths);
  const texts = new Map<string, string>();
  const scanned = [];
  for (const [i, path] of [...read.keys()].sort().entries()) {
    const text = read.get(path)!;
    if (typeof text !== "string") {
      const scan: JobFileScan = { ok: false, error: text.unreadable, line: null, images: [] };
      scanned.push({ path, scan });
      options.onFile?.(path, scan);
      continue;
    }
    texts.set(path, text);
    const scan = await scanText(text, options.strict ?? false);
    scanned.push({ path, scan });
    options.onFile?.(path, scan);
    // Parsing never waits on I/O: let registry responses in now and then.
    if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
  }
  return { discovery: discoverServices(config, scanned), texts };
}

/**
 * The image a managed site will be resolved under (the same string resolveService builds), so tag
 * lookups can start while the other files are still being parsed. Null when it is no service's.
 */
function lookupImage(config: Config, path: string, site: ImageSite): string | null {
  if (!site.managed || site.ref === null) return null;
  const repository = repositoryOf(site.ref);
  if (config.services !== undefined) {
    const s = config.services.find(
      (x) => sameRepository(x.image, repository) && matchesAny(path, x.jobs ?? config.jobs),
    );
    return s ? s.image : null;
  }
  const prefix = canonicalRepository(config.registry!);
  const canonical = canonicalRepository(repository);
  const under = canonical === prefix || canonical.startsWith(`${prefix}/`);
  return under && matchesAny(path, config.jobs) ? repository : null;
}

async function scanText(text: string, strict: boolean): Promise<JobFileScan> {
  if (strict) return findImages(text);
  const analysis = await analyseJobFile(text, { strict: false });
  if (!analysis.ok) return { ok: false, error: analysis.error, line: analysis.line, images: [] };
  return { ok: true, images: analysis.sites.map(publicSite) };
}

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const { config, build, repo, mode } = options;
  const limit = options.concurrency ?? 8;
  const progress = options.onProgress ?? (() => {});
  const actions: RegistryAction[] = [];
  const tag = renderTag(config.build.tag, build);
  const sources = options.images?.sources ?? {};
  // Tag lookups start as soon as a file names an image (each at most once); resolveService awaits them.
  const lookups = new Map<string, Promise<string>>();
  const byTag = Object.keys(sources).length === 0;
  const onFile = (path: string, scan: JobFileScan) => {
    for (const site of scan.images) {
      const image = byTag ? lookupImage(config, path, site) : null;
      const ref = image && `${image}:${tag}`;
      if (!ref || lookups.has(ref)) continue;
      const pending = options.registry.digest(ref);
      pending.catch(() => {}); // handled when awaited
      lookups.set(ref, pending);
    }
  };
  const { discovery, texts } = await scanJobFiles(repo, config, {
    strict: options.strictScan ?? false,
    onFile,
  });
  progress({ kind: "scan", files: texts.size, services: discovery.services.length });

  const resolved: Record<string, ResolvedImage> = {};
  await mapLimit(discovery.services, limit, async (service) => {
    if (service.sites.length === 0) return;
    progress({ kind: "service", service: service.name, step: "resolve", done: false });
    resolved[service.name] = await resolveService(
      options,
      service,
      tag,
      sources[service.name],
      actions,
      progress,
      lookups,
    );
    const r = resolved[service.name]!;
    const detail =
      r.status === "built" ? (r.digest ?? "digest known after push") : `${r.status}: ${r.reason}`;
    progress({ kind: "service", service: service.name, step: "resolve", done: true, detail });
  });
  for (const name of Object.keys(sources)) {
    if (!discovery.services.some((s) => s.name === name)) {
      discovery.fileErrors.push({
        file: "--images",
        line: null,
        error: `no service named "${name}" in the job files`,
      });
    }
  }

  const ancestry: Record<string, Relation> = {};
  if (repo.compare) {
    await mapLimit(deployedCommits(config, discovery), limit, async (commit) => {
      ancestry[commit] = await repo.compare!(commit, build.sha).catch(() => "unknown" as const);
    });
  }
  let planned = makePlan({ config, build, discovery, resolved, ancestry });

  let skipped: string | undefined;
  if (options.base && repo.compare) {
    const relation = await repo.compare(options.base, build.sha).catch(() => "unknown" as const);
    if (relation === "behind" || relation === "diverged") {
      skipped = `build ${build.sha.slice(0, 7)} is ${relation === "behind" ? "older than" : "not a descendant of"} ${options.base.slice(0, 7)}: skipped, nothing changes`;
      const services = planned.services.map((s) =>
        s.status === "moved" || s.status === "new" ? { ...s, status: "stale" as const, reason: skipped } : s,
      );
      planned = { ...planned, services, counts: countStatuses(services) };
    }
  }

  const edited = await editJobFiles(config, planned, texts);
  planned = edited.plan;

  if (mode === "apply" && !skipped) planned = await applyRegistry(options, planned, actions, progress, limit);

  const commits: Record<string, CommitLog> = {};
  await mapLimit(changing(planned), limit, async (s) => {
    commits[s.name] = await commitLog(repo, s, build, ancestry);
  });
  // A digest that moved although nothing under the service's paths changed: flag the build (§7).
  planned = {
    ...planned,
    services: planned.services.map((s) => {
      const log = commits[s.name];
      if (s.status !== "moved" || s.reason || !log?.ok || log.commits.length > 0) return s;
      return {
        ...s,
        reason: "digest moved although no commit touched its paths: the build may not be reproducible",
      };
    }),
  };
  if (options.explainer) planned = await explainMoves(options.explainer, planned, commits);
  const clock = options.clock ?? { now: () => new Date() };
  const ctx = { commits, date: clock.now(), ...(options.repoUrl ? { repoUrl: options.repoUrl } : {}) };
  const files = [...edited.files];
  let releaseNotes = "";
  if (changing(planned).length > 0) {
    releaseNotes = renderReleaseNotes(planned, ctx);
    const targets = releaseNotesTargets(config, planned);
    const existing = await repo.readFiles([...targets.keys()]);
    for (const [path, services] of targets) {
      const found = existing.get(path) ?? null;
      // Prepending to a file we cannot read would replace it: the whole run stops instead.
      if (found !== null && typeof found !== "string") throw new Error(`${path}: ${found.unreadable}`);
      const before = found;
      const after = prependReleaseNotes(before, renderReleaseNotes(planned, ctx, services), build.sha);
      if (after !== before) files.push({ path, before: before ?? "", after, edits: [] });
    }
  }
  return {
    plan: planned,
    files,
    releaseNotes,
    commits,
    prTitle: renderPrTitle(config, planned),
    prBody: renderPrBody(planned, ctx),
    comment: renderComment(planned, ctx),
    check: renderCheckRun(planned),
    // Concurrent calls finish in any order; reports list them by service (push before retag).
    registry: actions.sort((a, b) => a.service.localeCompare(b.service)),
    ...(skipped ? { skipped } : {}),
  };
}

async function resolveService(
  options: DeployOptions,
  service: DiscoveredService,
  tag: string,
  source: string | undefined,
  actions: RegistryAction[],
  progress: (e: ProgressEvent) => void,
  lookups: ReadonlyMap<string, Promise<string>>,
): Promise<ResolvedImage> {
  const { registry } = options;
  if (source === undefined) {
    if (options.images && Object.keys(options.images.sources).length > 0) {
      // With an --images map, a service left out of it was not built by this build.
      return { status: "not-built", reason: "not in the --images map" };
    }
    const ref = `${service.image}:${tag}`;
    try {
      return { status: "built", digest: await (lookups.get(ref) ?? registry.digest(ref)), tag, source: ref };
    } catch (error) {
      return isNotFound(error)
        ? { status: "not-built", reason: `${ref} is not in the registry` }
        : { status: "error", reason: message(error) };
    }
  }
  const parsed = parseImageSource(source);
  if (parsed === null)
    return { status: "error", reason: `--images: cannot read "${source}" as an image source` };
  try {
    if (parsed.transport === "docker") {
      const ref = parseImageRef(parsed.ref)!;
      if (!sameRepository(repositoryOf(ref), service.image)) {
        // A pin must name a digest that exists in the service's own repository; copying between
        // repositories is the build's job (skopeo copy --all --preserve-digests), not a deploy's.
        return {
          status: "error",
          reason: `--images: ${parsed.ref} is not in ${service.image}; push it there or give an archive`,
        };
      }
      const digest = await registry.digest(parsed.ref);
      // "image:tag" names its own tag; a digest-only ref gets the build tag, created on apply.
      return ref.tag
        ? { status: "built", digest, tag: ref.tag, source }
        : { status: "built", digest, tag, source, tagged: false };
    }
    const deployed = pinnedState(options.config, service).digest;
    if (deployed !== null) {
      const same = await options.images!.port.sameImage(source, `${service.image}@${deployed}`);
      if (same.same) {
        if (options.mode === "apply") {
          actions.push({
            service: service.name,
            action: "push",
            ref: `${service.image}:${tag}`,
            result: "skipped",
            detail: same.reason,
          });
        }
        // Not pushed: the build tag does not exist yet, so retagging must create it.
        return { status: "built", digest: deployed, tag, source, tagged: false };
      }
    }
    if (options.mode === "plan") return { status: "built", digest: null, tag, source };
    progress({ kind: "service", service: service.name, step: "push", done: false });
    const pushed = await options.images!.port.push(source, `${service.image}:${tag}`);
    actions.push({
      service: service.name,
      action: "push",
      ref: `${service.image}:${tag}`,
      result: pushed.pushed ? "pushed" : "skipped",
    });
    progress({
      kind: "service",
      service: service.name,
      step: "push",
      done: true,
      detail: pushed.pushed ? "pushed" : "already there",
    });
    return { status: "built", digest: pushed.digest, tag, source };
  } catch (error) {
    return { status: "error", reason: message(error) };
  }
}

/** Retag the unchanged; give moved images pinned under a tag the registry lacks that tag. */
async function applyRegistry(
  options: DeployOptions,
  planned: Plan,
  actions: RegistryAction[],
  progress: (e: ProgressEvent) => void,
  limit: number,
): Promise<Plan> {
  const failures = new Map<string, string>();
  await mapLimit(planned.services, limit, async (s) => {
    let tags: string[] = [];
    if (s.status === "unchanged") tags = s.retag;
    else if ((s.status === "moved" || s.status === "new") && s.next?.digest && !s.next.tagged) {
      // Pinned from a digest-only ref or a same-repo ref: make sure "image:tag" exists (no-op if so).
      tags = [s.next.tag];
    }
    if (tags.length === 0 || !s.next?.digest) return;
    const ref = `${s.image}@${s.next.digest}`;
    progress({ kind: "service", service: s.name, step: "retag", done: false });
    try {
      const out = await options.registry.retag(ref, tags);
      for (const r of out)
        actions.push({ service: s.name, action: "retag", ref, tags: [r.tag], result: r.status });
      progress({
        kind: "service",
        service: s.name,
        step: "retag",
        done: true,
        detail: out.map((r) => `${r.tag} ${r.status}`).join(", "),
      });
    } catch (error) {
      actions.push({ service: s.name, action: "retag", ref, tags, result: "failed", detail: message(error) });
      failures.set(s.name, `retag ${tags.join(", ")}: ${message(error)}`);
    }
  });
  if (failures.size === 0) return planned;
  const services = planned.services.map((s) =>
    failures.has(s.name) && s.status === "unchanged"
      ? { ...s, status: "error" as const, reason: failures.get(s.name)! }
      : s,
  );
  return { ...planned, services, counts: countStatuses(services) };
}

/** For each move with no commit in its paths: how the old and new image differ (2 at a time: layers are big). */
async function explainMoves(
  explainer: NonNullable<DeployOptions["explainer"]>,
  planned: Plan,
  commits: Readonly<Record<string, CommitLog>>,
): Promise<Plan> {
  const services = await mapLimit(planned.services, 2, async (s) => {
    const log = commits[s.name];
    if (s.status !== "moved" || !log?.ok || log.commits.length > 0) return s;
    if (!s.old.digest || !s.next?.digest || s.old.digest === s.next.digest) return s;
    try {
      const explanation = await explainer.explain(
        `${s.image}@${s.old.digest}`,
        `${s.image}@${s.next.digest}`,
      );
      return { ...s, explanation: { ok: true as const, explanation } };
    } catch (error) {
      return { ...s, explanation: { ok: false as const, error: message(error) } };
    }
  });
  return { ...planned, services };
}

async function commitLog(
  repo: RepoPort,
  s: Plan["services"][number],
  build: BuildInfo,
  ancestry: Readonly<Record<string, Relation>>,
): Promise<CommitLog> {
  if (s.status === "new") return { ok: false, reason: "first pin: no earlier build recorded" };
  if (s.old.commit === null)
    return { ok: false, reason: `the old pin (tag ${s.old.tag ?? "none"}) records no commit` };
  if (s.paths.length === 0) return { ok: false, reason: "no `paths` configured for this service" };
  const relation = ancestry[s.old.commit] ?? "unknown";
  if (relation === "identical") return { ok: true, commits: [] };
  try {
    return { ok: true, commits: await repo.commitsTouching(s.old.commit, build.sha, s.paths) };
  } catch (error) {
    return { ok: false, reason: `commit history unavailable: ${message(error)}` };
  }
}
