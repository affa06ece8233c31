// What people read: the PR title and body, the sticky image comment, the check run summary and the
// draft release.
import type { Config } from "../config/schema.js";
import { type NotesContext, commitCount, commitLink, renderReleaseNotes } from "./release-notes.js";
import { type Plan, type ServicePlan, type ServiceStatus, changing } from "./plan.js";
import { renderTag, shortDigest, shortSha } from "./templates.js";
import { renderExplanationMarkdown, summarizeExplanation } from "../explain/render.js";
import { describeVerdict, runName, whoSigned } from "../provenance/describe.js";
import { describeAgreement } from "./builders.js";

export const COMMENT_MARKER = "<!-- nomad-gitops:images -->";
/** Hidden in the PR body: the build it describes, so a re-run can tell it already did this work. */
export const buildMarker = (sha: string) => `<!-- nomad-gitops:build ${sha} -->`;

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
// Everything put in a cell is text (reasons carry registry, builder and file content): it must not open HTML.
const cell = (text: string) =>
  text
    .replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;"))
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, " ");
const files = (s: ServicePlan) => (s.files.length > 0 ? s.files.map(code).join("<br>") : "—");

const LABELS: Record<ServiceStatus, string> = {
  moved: "moved",
  new: "new (first pin)",
  unchanged: "unchanged",
  "not-built": "not built",
  stale: "skipped (older build)",
  unverified: "unverified (not pinned)",
  awaiting: "awaiting builders",
  error: "error",
};

/** The status as people read it: an unchanged service whose build was only re-encoded says so. */
const label = (s: ServicePlan) =>
  s.reencoded
    ? "unchanged (re-encoded)"
    : s.status === "awaiting" && s.agreement
      ? `awaiting builders (${s.agreement.agreed}/${s.agreement.of})`
      : LABELS[s.status];

/** The provenance verdict as the check run, the comment and `verify REF` word it (markdown: with links). */
const verdictCell = (s: ServicePlan) => (s.provenance ? cell(describeVerdict(s.provenance, "markdown")) : "");

/** A check-run note: the reason, and with provenance required the verdict (which then says why it failed). */
function note(s: ServicePlan): string {
  const v = s.provenance;
  // A build whose signature checks out but whose builders refused it: the outcome first, then what the
  // signature proves, so "verified" never reads as the service's verdict.
  if (s.status === "unverified" && v?.status === "verified" && s.agreement)
    return cell(
      `not pinned: ${s.reason ?? "builders refused it"}; agreed: ${describeAgreement(s.agreement)}; ` +
        `the build's own signature is verified: ${whoSigned(v, "markdown")}`,
    );
  const text = v?.status === "unverified" ? "" : cell(s.reason ?? reencodedNote(s));
  // An awaiting service's reason already says which builders are missing.
  if (s.status === "awaiting") return text;
  return [text, verdictCell(s), agreedCell(s)].filter(Boolean).join("; ");
}

/** `builders agree 2/2 (rebuild, nix)` for a service the builders were asked about. */
const agreedCell = (s: ServicePlan) =>
  s.agreement && !s.agreement.notReproducible ? `builders agree ${describeAgreement(s.agreement)}` : "";

/** Why a re-encoded service was not redeployed, in one line. */
const reencodedNote = (s: ServicePlan) =>
  s.reencoded
    ? `re-encoded: the build's ${code(shortDigest(s.reencoded.digest))} has the same content (${s.reencoded.reason}); the pin is kept, not redeployed`
    : "";

function reencodedList(plan: Plan): string {
  const lines = plan.services
    .filter((s) => s.reencoded)
    .map((s) => `- **${cell(s.name)}** keeps ${code(shortDigest(s.old.digest))}: ${cell(reencodedNote(s))}`);
  return lines.length > 0 ? ["**Re-encoded, not redeployed**", "", ...lines].join("\n") : "";
}

export function renderPrTitle(config: Config, plan: Plan): string {
  const names = changing(plan).map((s) => s.name);
  const list =
    names.length === 0
      ? "nothing"
      : names.length <= 4
        ? names.join(", ")
        : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
  return renderTag(config.pr.title.replace(/\{services\}/g, list), plan.build).slice(0, 256);
}

/** Moved and new services; a provenance column only when the run checked provenance. */
function changedTable(plan: Plan, ctx: Pick<NotesContext, "commits">): string {
  const services = changing(plan);
  const attested = services.some((s) => s.provenance);
  const rows = services.map((s) => {
    const from = s.status === "new" ? "_new_" : code(shortDigest(s.old.digest));
    const n = commitCount(ctx, s.name);
    const provenance = attested
      ? ` ${[verdictCell(s) || "exempt", agreedCell(s)].filter(Boolean).join("; ")} |`
      : "";
    return `| ${cell(s.name)} | ${from} → ${code(shortDigest(s.next?.digest ?? null))} | ${code(s.next?.tag ?? "")} | ${files(s)} | ${n ?? "—"} |${provenance}`;
  });
  const head = attested
    ? ["| service | digest | tag | job files | commits | provenance |", "|---|---|---|---|---|---|"]
    : ["| service | digest | tag | job files | commits |", "|---|---|---|---|---|"];
  return [...head, ...rows].join("\n");
}

function unchangedDetails(plan: Plan): string {
  const same = plan.services.filter((s) => s.status === "unchanged");
  if (same.length === 0) return "";
  const rows = same.map((s) => `| ${cell(s.name)} | ${code(shortDigest(s.old.digest))} | ${files(s)} |`);
  return [
    `<details><summary>${same.length} unchanged</summary>`,
    "",
    "| service | digest | job files |",
    "|---|---|---|",
    ...rows,
    "",
    "</details>",
  ].join("\n");
}

function problems(plan: Plan): string {
  const lines: string[] = [];
  for (const p of plan.configProblems) lines.push(`- config ${code(p.key)}: ${cell(p.message)}`);
  for (const s of plan.services) {
    if (
      s.status === "not-built" ||
      s.status === "error" ||
      s.status === "stale" ||
      s.status === "unverified" ||
      s.status === "awaiting"
    ) {
      const v = s.provenance;
      // An awaiting service's reason already starts with "awaiting builders (1/2 …)".
      const what = s.status === "awaiting" ? "" : `${LABELS[s.status]}: `;
      lines.push(
        v?.status === "unverified"
          ? `- **${cell(s.name)}** not pinned, ${cell(describeVerdict(v, "markdown"))}`
          : `- **${cell(s.name)}** ${what}${cell(s.reason ?? "")}`,
      );
    }
  }
  for (const f of plan.fileErrors) {
    lines.push(`- ${code(f.line === null ? f.file : `${f.file}:${f.line}`)} skipped: ${cell(f.error)}`);
  }
  return lines.length > 0 ? ["**Not deployed**", "", ...lines].join("\n") : "";
}

/** Moves no commit explains, with what differs: open in the check run, folded in the comment. */
function explanations(plan: Plan, folded: boolean): string {
  const lines: string[] = [];
  for (const s of plan.services) {
    const e = s.explanation;
    if (!e) continue;
    const why = e.ok ? summarizeExplanation(e.explanation) : `not explained (${e.error})`;
    lines.push(`- **${cell(s.name)}** non-reproducible build: ${cell(why)}`);
    if (!e.ok) continue;
    const body = renderExplanationMarkdown(e.explanation, { maxFiles: folded ? 50 : 20 }).trimEnd();
    lines.push(
      "",
      ...(folded
        ? [`<details><summary>Why did ${cell(s.name)} move?</summary>`, "", body, "", "</details>"]
        : [body]),
      "",
    );
  }
  return lines.length > 0
    ? ["**Moved without a commit in its paths**", "", ...lines].join("\n").trimEnd()
    : "";
}

/** The sticky comment: found again by its marker and edited in place. */
export function renderComment(plan: Plan, ctx: Pick<NotesContext, "commits" | "repoUrl">): string {
  const n = changing(plan).length;
  const head = `### ${n} image${n === 1 ? "" : "s"} changed for ${ctx.repoUrl ? commitLink(ctx, plan.build.sha) : code(shortSha(plan.build.sha))}`;
  const parts = [COMMENT_MARKER, head, ""];
  parts.push(n > 0 ? changedTable(plan, ctx) : "_No image moved._");
  for (const extra of [unchangedDetails(plan), reencodedList(plan), problems(plan), explanations(plan, true)])
    if (extra) parts.push("", extra);
  return `${parts.join("\n")}\n`;
}

export function renderPrBody(plan: Plan, ctx: NotesContext): string {
  const n = changing(plan).length;
  const parts = [
    `Pins ${n} image${n === 1 ? "" : "s"} built from ${ctx.repoUrl ? commitLink(ctx, plan.build.sha) : code(shortSha(plan.build.sha))} on ${code(plan.build.branch)}: only the services whose digest moved.`,
    "",
    changedTable(plan, ctx),
  ];
  for (const extra of [unchangedDetails(plan), reencodedList(plan), problems(plan)])
    if (extra) parts.push("", extra);
  if (n > 0)
    parts.push(
      "",
      renderReleaseNotes(plan, ctx)
        .replace(/^<!--[^\n]*-->\n/, "")
        .trimEnd(),
    );
  parts.push("", "---", `_Written by nomad-gitops-bot._ ${buildMarker(plan.build.sha)}`);
  return `${parts.join("\n")}\n`;
}

function reencodedCount(plan: Plan): string {
  const n = plan.services.filter((s) => s.reencoded).length;
  return n > 0 ? ` (${n} re-encoded)` : "";
}

export interface CheckRunOutput {
  conclusion: "success" | "neutral" | "failure";
  title: string;
  /** Markdown; GitHub caps it at 65535 characters. */
  summary: string;
}

/**
 * What fails a run, counted: a service in error, a digest refused (`unverified`), a job file skipped, a
 * config key that selects nothing. The check run's `failure`, the CLI's exit 1 and the Action's failed
 * step count exactly these. A service awaiting builders is "not yet", not a failure: the check run is
 * neutral and the exit code 0 until it is pinned or refused.
 */
export function runFailures(plan: Plan): number {
  const c = plan.counts;
  return c.error + c.unverified + plan.fileErrors.length + plan.configProblems.length;
}

export function renderCheckRun(plan: Plan): CheckRunOutput {
  const c = plan.counts;
  const failed = runFailures(plan);
  const parts = [
    plan.configProblems.length > 0 &&
      `config selects nothing: ${plan.configProblems.map((p) => p.key).join(", ")}`,
    c.moved > 0 && `${c.moved} moved`,
    c.new > 0 && `${c.new} new`,
    `${c.unchanged} unchanged${reencodedCount(plan)}`,
    c["not-built"] > 0 && `${c["not-built"]} not built`,
    c.stale > 0 && `${c.stale} skipped`,
    c.unverified > 0 && `${c.unverified} unverified`,
    c.awaiting > 0 && `${c.awaiting} awaiting builders`,
    c.error > 0 && `${c.error} error${c.error === 1 ? "" : "s"}`,
    plan.fileErrors.length > 0 &&
      `${plan.fileErrors.length} job file${plan.fileErrors.length === 1 ? "" : "s"} skipped`,
  ].filter(Boolean);
  const rows = plan.services.map((s) => {
    const digest =
      s.status === "moved" ||
      s.status === "new" ||
      s.status === "stale" ||
      s.status === "unverified" ||
      s.status === "awaiting"
        ? `${s.status === "new" || s.old.digest === null ? "—" : code(shortDigest(s.old.digest))} → ${code(shortDigest(s.next?.digest ?? null))}`
        : code(shortDigest(s.next?.digest ?? s.old.digest));
    return `| ${cell(s.name)} | ${label(s)} | ${digest} | ${note(s)} |`;
  });
  const summary = [
    `Build ${code(shortSha(plan.build.sha))} on ${code(plan.build.branch)}, tag ${code(plan.tag)}.`,
    "",
    "| service | status | digest | note |",
    "|---|---|---|---|",
    ...rows,
  ];
  const errs = problems(plan);
  if (plan.fileErrors.length > 0 || plan.configProblems.length > 0) summary.push("", errs);
  const explained = explanations(plan, false);
  if (explained) summary.push("", explained);
  let text = `${summary.join("\n")}\n`;
  if (text.length > 65000) text = `${text.slice(0, 65000)}\n\n_(truncated)_\n`;
  return {
    // A service awaiting a late builder is neither done nor failed: the run is neutral until it arrives.
    conclusion:
      failed > 0
        ? "failure"
        : c.awaiting === 0 && (changing(plan).length > 0 || c.unchanged > 0)
          ? "success"
          : "neutral",
    title: parts.join(", "),
    summary: text,
  };
}

/** Hidden in a draft release's body: the build it lists, so a re-run finds its draft again. */
export const releaseMarker = (sha: string) => `<!-- nomad-gitops:release-draft ${sha} -->`;

/**
 * The draft release of a build (`release_notes.github_release: draft`): every service's digest, moved or
 * not, so anyone can rebuild the commit and compare; then this deploy's release notes, which say who built
 * and attested each pinned digest. A digest that failed provenance is not this build's image: the row
 * keeps the pinned digest and says why.
 */
export function renderReleaseDraft(
  plan: Plan,
  texts: { releaseNotes: string; prTitle: string },
): { name: string; body: string } {
  const { build } = plan;
  const attested = plan.services.some((s) => s.provenance);
  const rows = plan.services.map((s) => {
    const v = s.provenance;
    const refused = v?.status === "unverified";
    const digest = refused ? s.old.digest : (s.next?.digest ?? s.old.digest);
    const status = refused ? `unverified, not pinned (${v.check})` : s.status;
    const run = v?.status === "verified" && v.link ? `[${runName(v.link)}](${v.link})` : "—";
    return `| ${cell(s.name)} | ${code(s.image)} | ${digest ? code(digest) : "—"} | ${status} |${attested ? ` ${run} |` : ""}`;
  });
  const body = [
    releaseMarker(build.sha),
    `Images of ${code(build.branch)} at ${build.sha}. Rebuild that commit and compare these digests to check that the build is reproducible.`,
    "",
    `| service | image | digest | status |${attested ? " build run |" : ""}`,
    `|---|---|---|---|${attested ? "---|" : ""}`,
    ...rows,
    "",
    texts.releaseNotes.trim(),
    "",
  ].join("\n");
  return { name: `Deploy ${shortSha(build.sha)}: ${texts.prTitle}`, body };
}

/** Ends every commit the bot writes: the build it pins (the App also tells its own commits by it). */
export const BUILD_TRAILER = "Nomad-Gitops-Build";

/** The one commit message of a deploy, the same from the App (rolling branch) and `apply --commit`. */
export function renderCommitMessage(plan: Plan, title: string): string {
  const lines = changing(plan).map(
    (s) =>
      `- ${s.name}: ${s.status === "new" ? "first pin" : shortDigest(s.old.digest)} → ${shortDigest(s.next?.digest ?? null)} (${s.files.join(", ")})`,
  );
  return `${title}\n\n${lines.join("\n")}\n\n${BUILD_TRAILER}: ${plan.build.sha}\n`;
}
