// Release notes: per changed service, old → new digest and the commits that touched its `paths` since
// the commit its old pin records. Kept in a file as dated sections, newest first.
import type { Config } from "../config/schema.js";
import { type Plan, type ServicePlan, changing } from "./plan.js";
import { shortDigest, shortSha } from "./templates.js";
import type { FileChange } from "./edits.js";
import type { RepoPort } from "./ports.js";
import { runName, shellLine } from "../provenance/describe.js";

export interface Commit {
  sha: string;
  subject: string;
  author?: string;
  /** ISO date. */
  date?: string;
}

/** Commits for one service, or why there are none to show. */
export type CommitLog = { ok: true; commits: Commit[] } | { ok: false; reason: string };

export interface NotesContext {
  /** "https://github.com/acme/platform": commits and compares become links. */
  repoUrl?: string;
  /** By service name. */
  commits: Readonly<Record<string, CommitLog>>;
  /** Deploy date (from the Clock port), rendered as YYYY-MM-DD. */
  date: Date;
}

export const commitLink = (ctx: Pick<NotesContext, "repoUrl">, sha: string) =>
  ctx.repoUrl ? `[\`${shortSha(sha)}\`](${ctx.repoUrl}/commit/${sha})` : `\`${shortSha(sha)}\``;

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
// A commit subject is user text: keep it from opening HTML or breaking the list item.
const inline = (text: string) =>
  text.replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;")).replace(/\r?\n/g, " ");

/** The count shown in tables; null when unknown. */
export function commitCount(ctx: Pick<NotesContext, "commits">, name: string): number | null {
  const log = ctx.commits[name];
  return log?.ok ? log.commits.length : null;
}

export function serviceNotes(service: ServicePlan, ctx: NotesContext): string {
  const lines = [`### ${service.name}`, ""];
  const from = service.status === "new" ? "not pinned" : code(shortDigest(service.old.digest));
  const to = code(shortDigest(service.next?.digest ?? null));
  lines.push(
    `${code(service.image)}: ${from} → ${to}${service.next ? ` (tag ${code(service.next.tag)})` : ""}`,
  );
  if (service.reason) lines.push("", `> ${inline(service.reason)}`);
  lines.push(...attestation(service));
  const log = ctx.commits[service.name];
  lines.push("");
  if (log === undefined || !log.ok) {
    lines.push(`_${log ? inline(log.reason) : "no commit history"}_`);
  } else if (log.commits.length === 0) {
    lines.push("_no commits touched this service's paths_");
  } else {
    for (const c of log.commits) {
      const by = c.author ? ` (${inline(c.author)})` : "";
      lines.push(`- ${commitLink(ctx, c.sha)} ${inline(c.subject)}${by}`);
    }
  }
  return lines.join("\n");
}

/**
 * Who built and attested a pinned digest, from its verified certificate, and the command that checks it
 * again without this bot. Nothing when provenance is not required (no verdict).
 */
function attestation(service: ServicePlan): string[] {
  const v = service.provenance;
  if (v?.status !== "verified") return [];
  const a = v.attester;
  if (a === undefined) return ["", `Signed with ${code(v.signer)} (${code(v.root)}).`];
  const run = v.link ? ` ([${runName(v.link)}](${v.link}))` : "";
  const id = a.repositoryId ? ` (id ${a.repositoryId})` : "";
  const lines = [
    "",
    `Built and attested by GitHub Actions${run}:`,
    "",
    `- repository ${code(a.repository)}${id}`,
  ];
  if (a.workflow !== undefined && a.workflow !== a.signer) {
    lines.push(`- workflow ${code(a.workflow)}, signed by the reusable workflow ${code(a.signer)}`);
  } else {
    lines.push(`- workflow ${code(a.signer)}`);
  }
  const commit = `[${code(shortSha(a.commit))}](https://github.com/${a.repository}/commit/${a.commit})`;
  lines.push(`- commit ${commit} on ${code(a.ref)}, triggered by ${code(a.trigger)}`);
  if (a.runner) lines.push(`- runner: ${a.runner}`);
  if (v.command) lines.push("", "Verify it yourself:", "", "```sh", shellLine(v.command), "```");
  return lines;
}

const sectionMarker = (sha: string) => `<!-- nomad-gitops:release ${sha} -->`;

/** One dated section for this deploy, covering `services` (default: every moved or new one). */
export function renderReleaseNotes(plan: Plan, ctx: NotesContext, services = changing(plan)): string {
  const day = ctx.date.toISOString().slice(0, 10);
  const build = ctx.repoUrl ? commitLink(ctx, plan.build.sha) : code(shortSha(plan.build.sha));
  const parts = [sectionMarker(plan.build.sha), `## ${day} · ${plan.build.branch} @ ${build}`, ""];
  for (const s of services) parts.push(serviceNotes(s, ctx), "");
  return `${parts.join("\n").trimEnd()}\n`;
}

/**
 * Adds `section` on top of the dated sections of a notes file (title and intro stay first), in place
 * of an older section of the same build (a re-run does not duplicate it).
 */
export function prependReleaseNotes(existing: string | null, section: string, sha: string): string {
  if (existing === null || existing.trim() === "") return `# Releases\n\n${section}`;
  let text = existing;
  const marker = sectionMarker(sha);
  const at = text.indexOf(marker);
  if (at >= 0) {
    // Our section runs to the next level-2 heading or section marker (hand-written entries included).
    const heading = text.indexOf("\n## ", at);
    const from = heading >= 0 ? heading + 1 : at + marker.length;
    const end = /\n(?=## |<!-- nomad-gitops:release )/g;
    end.lastIndex = from;
    const next = end.exec(text);
    text = text.slice(0, at) + (next ? text.slice(next.index + 1) : "");
  }
  // Newest first: before the first dated section, below any title and intro the file starts with.
  const first = /^(?:## |<!-- nomad-gitops:release )/m.exec(text);
  const at2 = first ? first.index : text.startsWith("# ") ? text.length : 0;
  const head = text.slice(0, at2).replace(/\n*$/, at2 > 0 ? "\n\n" : "");
  const rest = text.slice(at2);
  return `${head}${section}${rest.length > 0 ? `\n${rest}` : ""}`.replace(/\n*$/, "\n");
}

/** Which notes file each changed service's notes go to ({job_dir}, {service} placeholders). */
export function releaseNotesTargets(config: Config, plan: Plan): Map<string, ServicePlan[]> {
  const targets = new Map<string, ServicePlan[]>();
  const file = config.release_notes.file;
  if (file === false) return targets;
  for (const s of changing(plan)) {
    const dirs = file.includes("{job_dir}") ? [...new Set(s.files.map(dirOf))] : ["."];
    for (const dir of dirs) {
      const path = file
        .replace(/\{job_dir\}/g, dir)
        .replace(/\{service\}/g, s.name)
        .replace(/^\.\//, "");
      targets.set(path, [...(targets.get(path) ?? []), s]);
    }
  }
  return new Map([...targets].sort(([a], [b]) => a.localeCompare(b)));
}

const dirOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".");

/**
 * Step 7, release notes files: each target file with this deploy's section prepended (only files whose
 * text changes). A target that exists but cannot be read stops the run: prepending would replace it.
 */
export async function releaseNotesFiles(
  repo: Pick<RepoPort, "readFiles">,
  config: Config,
  plan: Plan,
  ctx: NotesContext,
): Promise<FileChange[]> {
  const targets = releaseNotesTargets(config, plan);
  const existing = await repo.readFiles([...targets.keys()]);
  const files: FileChange[] = [];
  for (const [path, services] of targets) {
    const before = existing.get(path) ?? null;
    if (before !== null && typeof before !== "string") throw new Error(`${path}: ${before.unreadable}`);
    const after = prependReleaseNotes(before, renderReleaseNotes(plan, ctx, services), plan.build.sha);
    if (after !== before) files.push({ path, before: before ?? "", after, edits: [] });
  }
  return files;
}
