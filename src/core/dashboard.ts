// The deploy dashboard issue (`dashboard: true`): what every service pins on the deploy branch, what the
// open deploy PR would change, and (with Nomad) what the cluster runs. Pure: the shells read the issue,
// call these, and write the body back. The bot owns only the text between its two markers; whatever a
// person writes above or below is kept. "Digest last moved" comes from the repository's history (the
// commit that last changed the pinned digest in the service's job files, lastMoves below), never from
// anything the issue itself says.
import type { Plan, ServicePlan } from "./plan.js";
import { shortDigest, shortSha } from "./templates.js";

export const DASHBOARD_START = "<!-- nomad-gitops:dashboard:start -->";
export const DASHBOARD_END = "<!-- nomad-gitops:dashboard:end -->";
export const DASHBOARD_TITLE = "Deploy dashboard (nomad-gitops)";

/** The checkboxes a person can tick; the bot runs the request and unticks the box. */
export const DASHBOARD_REQUESTS = {
  "plan-again": "Plan again now (the deploy branch head, as if its build had just finished)",
  retag: "Retag unchanged images now (adds the `retag` tags to every image whose digest did not move)",
} as const;
export type DashboardRequest = keyof typeof DASHBOARD_REQUESTS;

/** The commit that last changed a service's pinned digest. */
export interface DigestMove {
  sha: string;
  /** ISO date of that commit. */
  date: string;
  /** False when the history read ends before the digest's first appearance: it moved then or earlier. */
  exact: boolean;
}

/** The cluster's side of one service, when Nomad access is configured. */
export interface ClusterView {
  /** Digests the cluster's jobs run for this service (one per site; null when unpinned there). */
  running: Array<{ job: string; digest: string | null; status: "same" | "drift" | "missing" }>;
  /** The latest Nomad deployment of the service's jobs. */
  rollout?: { job: string; version: number; status: string; description: string } | null;
}

export interface DashboardInput {
  plan: Plan;
  /** The deploy branch head the plan read. */
  base: string;
  /** The open deploy PR after this run, if any. */
  pr: { number: number; url: string } | null;
  /** By service name; absent without Nomad access. */
  cluster?: { address: string; services: Record<string, ClusterView>; note?: string };
  /** By service name: when its pinned digest last moved (lastMoves); absent → "—". */
  moves?: Readonly<Record<string, DigestMove>>;
  now: Date;
  repoUrl?: string;
}

/** The bot's section of the issue body. */
export function renderDashboard(input: DashboardInput): string {
  const { plan, pr, cluster } = input;
  const commitLink = (sha: string) =>
    input.repoUrl ? `[\`${shortSha(sha)}\`](${input.repoUrl}/commit/${sha})` : `\`${shortSha(sha)}\``;
  const prRef = pr ? `[#${pr.number}](${pr.url})` : null;
  const pending = plan.services.filter((s) => s.status === "moved" || s.status === "new").length;

  const lines = [
    DASHBOARD_START,
    "## Deploy dashboard",
    "",
    `Deploy branch \`${plan.build.branch}\` at ${commitLink(input.base)}, last planned for build ${commitLink(plan.build.sha)} on ${day(input.now)} ${time(input.now)} UTC.`,
    pr
      ? `Open deploy PR: ${prRef} (${pending} image${pending === 1 ? "" : "s"} to deploy).`
      : "No deploy PR is open: every built image is pinned.",
    "",
    `| service | pinned on \`${plan.build.branch}\` | built from | digest last moved | pending${prRef ? ` in ${prRef}` : ""} |${cluster ? " cluster |" : ""}`,
    `|---|---|---|---|---|${cluster ? "---|" : ""}`,
  ];
  for (const s of plan.services) {
    const move = s.old.digest ? input.moves?.[s.name] : undefined;
    const moved = move ? `${move.exact ? "" : "≤ "}${move.date.slice(0, 10)} ${commitLink(move.sha)}` : "—";
    const cells = [`**${s.name}**`, pinCell(s), builtFromCell(s, move, commitLink), moved, pendingCell(s)];
    if (cluster) cells.push(clusterCell(cluster.services[s.name]));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  if (plan.services.length === 0) lines.push(`| (no services found) | | | | |${cluster ? " |" : ""}`);
  const awaiting = plan.services.filter((s) => s.status === "awaiting");
  if (awaiting.length > 0) {
    const names = awaiting.map(
      (s) => `**${s.name}**${s.agreement ? ` (${s.agreement.agreed}/${s.agreement.of})` : ""}`,
    );
    lines.push(
      "",
      `⏳ Awaiting builders: ${names.join(", ")}; pinned once the late builders push and agree.`,
    );
  }
  if (cluster) {
    lines.push("", `Cluster: \`${cluster.address}\`.${cluster.note ? ` ${cluster.note}` : ""}`);
  }
  const problems = [
    ...plan.fileErrors.map(
      (f) => `- skipped \`${f.file}${f.line === null ? "" : `:${f.line}`}\`: ${f.error}`,
    ),
    ...plan.unknownSites.map((u) => `- not managed \`${u.file}:${u.line}\`: ${u.reason}`),
  ];
  if (problems.length > 0) {
    lines.push(
      "",
      `<details><summary>${problems.length} job file note${problems.length === 1 ? "" : "s"}</summary>`,
      "",
      ...problems,
      "",
      "</details>",
    );
  }
  lines.push(
    "",
    "### Ask the bot",
    "",
    ...Object.entries(DASHBOARD_REQUESTS).map(([key, text]) => `- [ ] <!-- nomad-gitops:${key} --> ${text}`),
    "",
    DASHBOARD_END,
  );
  return lines.join("\n");
}

/** A job file's history as the shell read it: newest first, bounded. */
export interface FileHistory {
  /** Commits that touched the file, newest first (the first is the one whose text the head has). */
  commits: ReadonlyArray<{ sha: string; date: string }>;
  /** True when `commits` reaches the file's first commit (nothing older touched it). */
  complete: boolean;
}

/**
 * When each service's pinned digest last moved: per job file pinning it, walking that file's commits from
 * the newest, the oldest commit of the unbroken run whose text still holds the digest. `text(sha, path)`
 * is the file at that commit (undefined when not read: the walk stops there, and the date is an upper
 * bound). With several files, the latest move wins (the last site to get the digest).
 */
export function lastMoves(
  plan: Plan,
  histories: ReadonlyMap<string, FileHistory>,
  text: (sha: string, path: string) => string | null | undefined,
): Record<string, DigestMove> {
  const moves: Record<string, DigestMove> = {};
  for (const s of plan.services) {
    const digest = s.old.digest;
    if (!digest) continue;
    for (const file of pinningFiles(s, digest)) {
      const history = histories.get(file);
      if (!history) continue;
      const move = moveIn(history, (sha) => text(sha, file), digest);
      if (move && (!moves[s.name] || move.date > moves[s.name]!.date)) moves[s.name] = move;
    }
  }
  return moves;
}

/** The job files where the service's sites pin `digest` (the files a history is needed for). */
export function pinningFiles(s: ServicePlan, digest: string): string[] {
  return [...new Set(s.sites.filter((site) => site.digest === digest).map((site) => site.file))].sort();
}

function moveIn(
  history: FileHistory,
  textAt: (sha: string) => string | null | undefined,
  digest: string,
): DigestMove | null {
  let held: { sha: string; date: string } | null = null;
  for (const commit of history.commits) {
    const text = textAt(commit.sha);
    if (text === undefined) return held && { ...held, exact: false };
    // The file at this commit no longer pins the digest: the move is the commit after it.
    if (text === null || !text.includes(digest)) return held && { ...held, exact: true };
    held = commit;
  }
  return held && { ...held, exact: history.complete };
}

function pinCell(s: ServicePlan): string {
  if (!s.old.digest) return s.old.tag ? `\`${s.old.tag}\` (no digest)` : "not pinned";
  const mixed = s.old.mixed ? " (sites differ)" : "";
  // A pin by digest only (podman's style) has no tag to show.
  const tag = s.old.tag === null ? "" : `\`${shortTag(s.old.tag)}\` `;
  return `${tag}\`${shortDigest(s.old.digest)}\`${mixed}`;
}

/**
 * The build a pin came from. A digest that no deploy commit (nor, for a move, any recent build tag)
 * records was put there some other way, a person editing the image line most often: said as such, with
 * the commit that last changed it when the history was read. "By hand" would be a guess (a squash merge
 * titled by the PR drops the record too), so it is not said.
 */
function builtFromCell(s: ServicePlan, move: DigestMove | undefined, link: (sha: string) => string): string {
  if (s.old.commit) return link(s.old.commit);
  if (!s.old.digest) return "—";
  if (!move) return "no deploy records it";
  return `no deploy records it; set in ${link(move.sha)}${move.exact ? "" : " or earlier"}`;
}

function pendingCell(s: ServicePlan): string {
  const next = s.next?.digest ? `\`${shortDigest(s.next.digest)}\`` : "(after push)";
  switch (s.status) {
    case "moved":
      return `→ \`${shortTag(s.next?.tag ?? null)}\` ${next}`;
    case "new":
      return `first pin → \`${shortTag(s.next?.tag ?? null)}\` ${next}`;
    case "unchanged":
      return "up to date";
    case "not-built":
      return `not built: ${escapeCell(s.reason ?? "")}`;
    case "stale":
      return `skipped: ${escapeCell(s.reason ?? "")}`;
    case "unverified":
      return `⚠️ unverified, not pinned: ${escapeCell(s.reason ?? "")}`;
    case "awaiting":
      return `⏳ ${escapeCell(s.reason ?? "awaiting builders")}`;
    case "error":
      return `⚠️ ${escapeCell(s.reason ?? "error")}`;
  }
}

function clusterCell(view: ClusterView | undefined): string {
  if (!view || view.running.length === 0) return "—";
  const parts = view.running.map((r) => {
    if (r.status === "missing") return `\`${r.job}\` not running`;
    const d = `\`${shortDigest(r.digest)}\``;
    return r.status === "same" ? `${d} ✅` : `${d} ⚠️ drift`;
  });
  const rollout = view.rollout
    ? `; last rollout v${view.rollout.version} ${view.rollout.status}`
    : view.rollout === null
      ? "; no rollout yet"
      : "";
  return `${[...new Set(parts)].join(", ")}${rollout}`;
}

/** A tag that is a full commit sha (the default `{sha}` template) is shown short, as commits are. */
const shortTag = (tag: string | null) =>
  tag === null ? "—" : /^[0-9a-f]{40}$/.test(tag) ? shortSha(tag) : tag;
const escapeCell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const day = (d: Date) => d.toISOString().slice(0, 10);
const time = (d: Date) => d.toISOString().slice(11, 16);

/** What an issue body holds: whether the bot's section is there, and which boxes a person ticked. */
export function readDashboard(body: string | null | undefined): {
  present: boolean;
  requests: DashboardRequest[];
} {
  const text = body ?? "";
  const start = text.indexOf(DASHBOARD_START);
  const end = text.indexOf(DASHBOARD_END, start);
  if (start < 0 || end < 0) return { present: false, requests: [] };
  const section = text.slice(start, end);
  const requests = (Object.keys(DASHBOARD_REQUESTS) as DashboardRequest[]).filter((key) =>
    new RegExp(`^\\s*[-*] \\[[xX]\\] <!-- nomad-gitops:${key} -->`, "m").test(section),
  );
  return { present: true, requests };
}

/**
 * The issue body with the bot's section replaced (or appended when the body has none); the text around
 * it is kept byte for byte.
 */
export function mergeDashboard(body: string | null | undefined, section: string): string {
  const text = body ?? "";
  const start = text.indexOf(DASHBOARD_START);
  const end = text.indexOf(DASHBOARD_END, start);
  if (start < 0 || end < 0) return text.trim() === "" ? `${section}\n` : `${text.trimEnd()}\n\n${section}\n`;
  return text.slice(0, start) + section + text.slice(end + DASHBOARD_END.length);
}

/** The body with every bot checkbox unticked (after the bot took the requests in). */
export function untickDashboard(body: string): string {
  const start = body.indexOf(DASHBOARD_START);
  const end = body.indexOf(DASHBOARD_END, start);
  if (start < 0 || end < 0) return body;
  const section = body
    .slice(start, end)
    .replace(/^(\s*[-*] )\[[xX]\]( <!-- nomad-gitops:[a-z-]+ -->)/gm, "$1[ ]$2");
  return body.slice(0, start) + section + body.slice(end);
}
