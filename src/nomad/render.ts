// Pure: markdown for the Nomad parts of the sticky comment and the check run, and the one-line
// descriptions GitHub deployment statuses carry (140 characters at most).
import { shortDigest } from "../core/templates.js";
import { type DriftEntry, type JobPlanSummary, type RolloutSummary, planTotals } from "./summary.js";

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
/** Long field values (a whole template) would swamp the comment. */
const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export type JobPlanResult =
  | {
      file: string;
      job: string;
      ok: true;
      summary: JobPlanSummary;
      /** The JobModifyIndex of the version the cluster holds (0: no such job), for the merge's submit. */
      modifyIndex?: number;
    }
  | { file: string; job: string | null; ok: false; error: string };

export interface PlanSection {
  /** Shown on top: the cluster address (never a token). */
  address: string;
  /** Set when nothing could be asked (cluster unreachable before the first job, ...). */
  note?: string;
  jobs: JobPlanResult[];
}

/** One line per job: what the scheduler would do. */
export function planHeadline(summary: JobPlanSummary): string {
  if (summary.diffType === "Added") return "new job";
  const t = planTotals(summary);
  const parts = [
    t.destructive > 0 && `${plural(t.destructive, "allocation")} replaced`,
    t.inPlace > 0 && `${t.inPlace} updated in place`,
    t.create > 0 && `${t.create} created`,
    t.destroy > 0 && `${t.destroy} stopped`,
    t.canary > 0 && `${plural(t.canary, "canary")}`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(", ") : "no allocation changes";
}

function jobDetails(result: Extract<JobPlanResult, { ok: true }>): string {
  const s = result.summary;
  const failed = s.groups.filter((g) => g.placementFailed).map((g) => g.name);
  const lines = [
    `<details><summary>${code(s.job)} (${code(result.file)}): ${planHeadline(s)}${failed.length > 0 ? " — ⚠️ placement failures" : ""}</summary>`,
    "",
    "| group | create | destroy | in-place | destructive | canary | ignore |",
    "|---|---|---|---|---|---|---|",
    ...s.groups.map(
      (g) =>
        `| ${cell(g.name)}${g.placementFailed ? " ⚠️" : ""} | ${g.create} | ${g.destroy} | ${g.inPlace} | ${g.destructive} | ${g.canary} | ${g.ignore} |`,
    ),
  ];
  const changes = s.changes.slice(0, 30);
  if (changes.length > 0) {
    lines.push("", "Changed fields:", "");
    for (const c of changes) {
      const where = [c.group, c.task].filter(Boolean).join("/") || "job";
      const value =
        c.type === "Added"
          ? `added ${code(clip(c.new))}`
          : c.type === "Deleted"
            ? `removed ${code(clip(c.old))}`
            : `${code(clip(c.old))} → ${code(clip(c.new))}`;
      lines.push(`- ${code(where)} ${code(c.field)}: ${value}`);
    }
    if (s.changes.length > changes.length) lines.push(`- … and ${s.changes.length - changes.length} more`);
  }
  if (failed.length > 0)
    lines.push("", `The scheduler could not place every allocation of: ${failed.map(code).join(", ")}.`);
  for (const w of s.warnings) lines.push("", `> ${cell(w)}`);
  lines.push("", "</details>");
  return lines.join("\n");
}

/** The "Nomad plan" section of the sticky comment; "" when there is nothing to say. */
export function renderPlanSection(section: PlanSection): string {
  if (section.jobs.length === 0 && !section.note) return "";
  const lines = [`#### Nomad plan (${code(section.address)})`, ""];
  if (section.note) lines.push(`> ${section.note}`, "");
  for (const job of section.jobs) {
    if (job.ok) lines.push(jobDetails(job), "");
    else lines.push(`- ${code(job.file)}${job.job ? ` (job ${code(job.job)})` : ""}: ${cell(job.error)}`);
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

const DRIFT_LABEL: Record<DriftEntry["status"], string> = {
  same: "same",
  drift: "**drift**",
  "job-not-running": "job not in the cluster",
  "task-not-found": "task not in the cluster's job",
  "unpinned-in-cluster": "cluster runs a tag without digest",
};

/** The drift part of the check run summary; "" when Nomad is not configured (no entries and no note). */
export function renderDriftSection(address: string, entries: readonly DriftEntry[], note?: string): string {
  if (entries.length === 0 && !note) return "";
  const lines = [`### Cluster drift (${code(address)})`, ""];
  if (note) lines.push(`> ${note}`, "");
  const differ = entries.filter((e) => e.status !== "same");
  const same = entries.length - differ.length;
  if (entries.length > 0) {
    lines.push(
      differ.length === 0
        ? `The cluster runs the digest git pins for all ${plural(entries.length, "image site")}.`
        : `${plural(differ.length, "image site")} differ${differ.length === 1 ? "s" : ""} from what git pins (${same} match).`,
    );
  }
  if (differ.length > 0) {
    lines.push(
      "",
      "| service | job | task | git pins | cluster runs | status |",
      "|---|---|---|---|---|---|",
    );
    for (const e of differ) {
      const task = [e.group, e.task].filter(Boolean).join("/") || "—";
      const running = e.runningDigest
        ? code(shortDigest(e.runningDigest))
        : e.running
          ? code(e.running)
          : "—";
      lines.push(
        `| ${cell(e.service)} | ${code(e.job)} | ${code(task)} | ${e.pinned ? code(shortDigest(e.pinned)) : "—"} | ${running} | ${DRIFT_LABEL[e.status]} |`,
      );
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** A deployment status description: GitHub keeps at most 140 characters. */
export function rolloutDescription(summary: RolloutSummary): string {
  let text = summary.description;
  const first = summary.failures.find((f) => f.events.length > 0);
  if (summary.state === "failure" && first) {
    // The first telling event is the cause ("Driver Failure: …"); later ones are consequences.
    text += ` — ${first.task}: ${first.events[0]}`;
  }
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

/** Markdown for a rollout (check run or CLI output): groups and the failing allocations' events. */
export function renderRollout(service: string, job: string, summary: RolloutSummary): string {
  const lines = [`**${cell(service)}** (job ${code(job)}): ${summary.state} — ${cell(summary.description)}`];
  if (summary.groups.length > 0) {
    lines.push("", "| group | desired | placed | healthy | unhealthy |", "|---|---|---|---|---|");
    for (const g of summary.groups)
      lines.push(`| ${cell(g.name)} | ${g.desired} | ${g.placed} | ${g.healthy} | ${g.unhealthy} |`);
  }
  for (const f of summary.failures) {
    lines.push("", `Allocation ${code(f.allocation.slice(0, 8))} ${code(`${f.group}/${f.task}`)}:`);
    for (const e of f.events) lines.push(`- ${cell(e)}`);
  }
  return `${lines.join("\n")}\n`;
}
