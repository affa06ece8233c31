// The deploy dashboard issue (`dashboard: true`): what every service pins on the deploy branch, what the
// open deploy PR would change, and (with Nomad) what the cluster runs. Pure: the shells read the issue,
// call these, and write the body back. The bot owns only the text between its two markers; whatever a
// person writes above or below is kept. The digest history the table shows ("last moved") is carried
// from one run to the next in a hidden JSON comment inside that section, so no history is re-read.
import type { Plan, ServicePlan } from "./plan.js";
import { shortDigest, shortSha } from "./templates.js";

export const DASHBOARD_START = "<!-- nomad-gitops:dashboard:start -->";
export const DASHBOARD_END = "<!-- nomad-gitops:dashboard:end -->";
export const DASHBOARD_TITLE = "Deploy dashboard (nomad-gitops)";
const STATE_PREFIX = "<!-- nomad-gitops:dashboard-state ";

/** The checkboxes a person can tick; the bot runs the request and unticks the box. */
export const DASHBOARD_REQUESTS = {
  "plan-again": "Plan again now (the deploy branch head, as if its build had just finished)",
  retag: "Retag unchanged images now (adds the `retag` tags to every image whose digest did not move)",
} as const;
export type DashboardRequest = keyof typeof DASHBOARD_REQUESTS;

/** What the dashboard remembers between runs, per service. */
export interface DashboardState {
  services: Record<
    string,
    {
      digest: string | null;
      /** ISO date the bot saw the pinned digest change; with `exact: false`, the first run that saw it. */
      since: string;
      exact: boolean;
    }
  >;
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
  previous: DashboardState | null;
  now: Date;
  repoUrl?: string;
}

/** The bot's section of the issue body, and the state it records. */
export function renderDashboard(input: DashboardInput): { section: string; state: DashboardState } {
  const { plan, pr, cluster } = input;
  const state = nextState(plan, input.previous, input.now);
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
    const remembered = state.services[s.name];
    const moved =
      remembered && remembered.digest !== null
        ? `${remembered.exact ? "" : "≤ "}${remembered.since.slice(0, 10)}`
        : "—";
    const cells = [
      `**${s.name}**`,
      pinCell(s),
      s.old.commit ? commitLink(s.old.commit) : "—",
      moved,
      pendingCell(s),
    ];
    if (cluster) cells.push(clusterCell(cluster.services[s.name]));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  if (plan.services.length === 0) lines.push(`| (no services found) | | | | |${cluster ? " |" : ""}`);
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
    `${STATE_PREFIX}${JSON.stringify(state)} -->`,
    DASHBOARD_END,
  );
  return { section: lines.join("\n"), state };
}

/** The state carried forward: a digest that differs from the remembered one moved now. */
function nextState(plan: Plan, previous: DashboardState | null, now: Date): DashboardState {
  const services: DashboardState["services"] = {};
  for (const s of plan.services) {
    const before = previous?.services[s.name];
    const digest = s.old.digest;
    if (before && before.digest === digest) services[s.name] = before;
    else services[s.name] = { digest, since: now.toISOString(), exact: before !== undefined };
  }
  return { services };
}

function pinCell(s: ServicePlan): string {
  if (!s.old.digest) return s.old.tag ? `\`${s.old.tag}\` (no digest)` : "not pinned";
  const mixed = s.old.mixed ? " (sites differ)" : "";
  // A pin by digest only (podman's style) has no tag to show.
  const tag = s.old.tag === null ? "" : `\`${shortTag(s.old.tag)}\` `;
  return `${tag}\`${shortDigest(s.old.digest)}\`${mixed}`;
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

/** What an issue body holds: the bot's state and which boxes a person ticked. */
export function readDashboard(body: string | null | undefined): {
  present: boolean;
  state: DashboardState | null;
  requests: DashboardRequest[];
} {
  const text = body ?? "";
  const start = text.indexOf(DASHBOARD_START);
  const end = text.indexOf(DASHBOARD_END, start);
  if (start < 0 || end < 0) return { present: false, state: null, requests: [] };
  const section = text.slice(start, end);
  const requests = (Object.keys(DASHBOARD_REQUESTS) as DashboardRequest[]).filter((key) =>
    new RegExp(`^\\s*[-*] \\[[xX]\\] <!-- nomad-gitops:${key} -->`, "m").test(section),
  );
  return { present: true, state: parseState(section), requests };
}

function parseState(section: string): DashboardState | null {
  const at = section.indexOf(STATE_PREFIX);
  if (at < 0) return null;
  const json = section.slice(at + STATE_PREFIX.length, section.indexOf(" -->", at));
  try {
    const value = JSON.parse(json) as DashboardState;
    // A person may have edited the comment: anything not shaped as ours is forgotten, not trusted.
    if (!value || typeof value !== "object" || typeof value.services !== "object" || value.services === null)
      return null;
    const services: DashboardState["services"] = {};
    for (const [name, s] of Object.entries(value.services)) {
      if (s && (typeof s.digest === "string" || s.digest === null) && typeof s.since === "string")
        services[name] = { digest: s.digest, since: s.since, exact: s.exact === true };
    }
    return { services };
  } catch {
    return null;
  }
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
