// Explanations for people: one summary line (check run), markdown (check run, PR comment) and plain
// text (CLI). Pure.
import { countFileChanges, describeAspects } from "./diff.js";
import { whiteoutEffect } from "./findings.js";
import type {
  ConfigChange,
  Explanation,
  FileChange,
  LayerChange,
  LayerRef,
  PlatformExplanation,
} from "./types.js";

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);
const code = (text: string) => `\`${text.replace(/`/g, "'").replace(/\r?\n/g, " ")}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
/** A digest ref without its digest: the short digest follows it anyway. */
const bare = (ref: string) => ref.replace(/@sha256:[0-9a-f]{64}$/, "");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function filesSummary(changes: readonly FileChange[], order?: LayerChange["entryOrder"]): string {
  const whiteouts = changes.filter((f) => f.whiteout).length;
  const c = countFileChanges(changes.filter((f) => !f.whiteout));
  const parts: string[] = [];
  if (c.changed > 0) {
    const meta = Object.entries(c.metadataOnly).map(([aspect, n]) => `${n} ${aspect} only`);
    parts.push(`${plural(c.changed, "file")} changed${meta.length > 0 ? ` (${meta.join(", ")})` : ""}`);
  }
  if (c.added > 0) parts.push(`${c.added} added`);
  if (c.removed > 0) parts.push(`${c.removed} removed`);
  if (whiteouts > 0) parts.push(`${plural(whiteouts, "whiteout")} differ${whiteouts === 1 ? "s" : ""}`);
  if (parts.length > 0) return parts.join(", ");
  return order === "differs"
    ? "same files, in another order in the archive"
    : "same files in the same order, other archive bytes (tar headers or padding)";
}

const layerName = (l: LayerRef) => `layer ${l.index + 1}`;

function layerTitle(change: LayerChange): string {
  if (change.a && change.b)
    return `${layerName(change.b)} (${short(change.a.diffId)} → ${short(change.b.diffId)})`;
  if (change.b) return `${layerName(change.b)} added (${short(change.b.diffId)})`;
  return `${layerName(change.a!)} removed (${short(change.a!.diffId)})`;
}

function layerSummary(change: LayerChange): string {
  if (change.files) return filesSummary(change.files, change.entryOrder);
  return change.note ?? "not inspected";
}

/** One line per platform: what moved, for a check-run row or a log line. */
export function summarizeExplanation(e: Explanation): string {
  if (e.identical) return "same digest";
  const lines: string[] = [];
  if (e.platformsOnlyInA.length + e.platformsOnlyInB.length > 0) {
    lines.push(
      [
        e.platformsOnlyInA.length > 0 && `platforms dropped: ${e.platformsOnlyInA.join(", ")}`,
        e.platformsOnlyInB.length > 0 && `platforms added: ${e.platformsOnlyInB.join(", ")}`,
      ]
        .filter(Boolean)
        .join("; "),
    );
  }
  for (const p of e.platforms) {
    const parts: string[] = [];
    if (p.config.length > 0) {
      const names = p.config.map((c) => c.field);
      parts.push(
        `config: ${names.slice(0, 4).join(", ")}${names.length > 4 ? ` and ${names.length - 4} more` : ""}`,
      );
    }
    for (const l of p.layers.changes)
      parts.push(
        `${layerName((l.b ?? l.a)!)}${l.a && l.b ? "" : l.b ? " added" : " removed"}: ${layerSummary(l)}`,
      );
    if ((p.layers.reordered ?? []).length > 0) parts.push("same layers, different order");
    const encoding = p.findings?.find((f) => f.level === "layer-encoding" || f.level === "manifest");
    if (parts.length === 0)
      parts.push(
        p.manifests.a === p.manifests.b
          ? "same image"
          : encoding
            ? `${encoding.what} (likely: ${encoding.cause})`
            : "same config and layers, manifest encoded differently",
      );
    lines.push(`${p.platform ? `${p.platform}: ` : ""}${parts.join("; ")}`);
  }
  return lines.join(" · ");
}

const configLine = (c: ConfigChange) =>
  c.before === undefined
    ? `added ${c.after}`
    : c.after === undefined
      ? `removed (was ${c.before})`
      : `${c.before} → ${c.after}`;

function fileLine(f: FileChange): string {
  if (f.whiteout) return `whiteout: ${whiteoutEffect(f)}`;
  if (f.kind !== "changed") return f.kind;
  const aspects = f.aspects ?? [];
  if (aspects.length === 1 && describeAspects(aspects).endsWith(" only")) {
    return `${describeAspects(aspects)}: ${f.details?.[aspects[0]!] ?? ""}`;
  }
  return aspects.map((a) => `${a}: ${f.details?.[a] ?? ""}`).join("; ");
}

/** Configs that differ in nothing compared but the layer list itself (diff_ids). */
const configNote = (p: PlatformExplanation) =>
  p.configs.a === p.configs.b
    ? "identical"
    : p.layers.changes.length === 0 && (p.layers.reordered ?? []).length > 0
      ? "same apart from the order of the layer diff_ids"
      : "same apart from the layer diff_ids";

/** "layer 1 → 2 (8d6f55df1b4c)": where the shared layers moved. */
const reorderLine = (p: PlatformExplanation) =>
  (p.layers.reordered ?? []).map((r) => `layer ${r.a + 1} → ${r.b + 1} (${short(r.diffId)})`).join(", ");

export interface RenderOptions {
  /** Files listed per layer before "… and N more" (default 50 in markdown, 200 in text). */
  maxFiles?: number;
}

function platformMarkdown(p: PlatformExplanation, maxFiles: number): string[] {
  const out: string[] = [];
  if (p.platform) out.push(`#### ${p.platform}`, "");
  if (p.config.length > 0) {
    out.push("| config | change |", "|---|---|");
    for (const c of p.config) out.push(`| ${cell(c.field)} | ${cell(configLine(c))} |`);
    out.push("");
  } else out.push(`Config: ${configNote(p)}.`, "");
  out.push(`Layers: ${p.layers.shared} shared, ${p.layers.changes.length} differ.`, "");
  if ((p.layers.reordered ?? []).length > 0)
    out.push(`Same layers, different order: ${cell(reorderLine(p))}.`, "");
  for (const l of p.layers.changes) {
    out.push(`- **${layerTitle(l)}**: ${cell(layerSummary(l))}`);
    const files = l.files ?? [];
    if (files.length === 0) continue;
    out.push("", "  | path | change |", "  |---|---|");
    for (const f of files.slice(0, maxFiles)) out.push(`  | ${cell(code(f.path))} | ${cell(fileLine(f))} |`);
    if (files.length > maxFiles) out.push(`  | … | ${files.length - maxFiles} more |`);
    out.push("");
  }
  for (const f of p.findings ?? []) {
    out.push(`- **${cell(f.what)}**. Likely cause: ${cell(f.cause)}. Remedy: ${cell(f.remedy)}.`);
  }
  if ((p.findings ?? []).length > 0) out.push("");
  return out;
}

/** Markdown for the check run and the PR comment (the caller folds it). */
export function renderExplanationMarkdown(e: Explanation, options: RenderOptions = {}): string {
  const maxFiles = options.maxFiles ?? 50;
  const out = [
    `${code(bare(e.a.ref))} (${code(short(e.a.digest))}) → ${code(bare(e.b.ref))} (${code(short(e.b.digest))})`,
    "",
  ];
  if (e.identical) out.push("Same digest: nothing moved.");
  if (e.platformsOnlyInA.length > 0)
    out.push(`Platforms only in the old image: ${e.platformsOnlyInA.map(code).join(", ")}`, "");
  if (e.platformsOnlyInB.length > 0)
    out.push(`Platforms only in the new image: ${e.platformsOnlyInB.map(code).join(", ")}`, "");
  if (!e.identical) for (const p of e.platforms) out.push(...platformMarkdown(p, maxFiles));
  for (const n of e.notes) out.push(`> ${cell(n)}`);
  return `${out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}

/** Plain text for the terminal. */
export function renderExplanationText(e: Explanation, options: RenderOptions = {}): string {
  const maxFiles = options.maxFiles ?? 200;
  const out = [`A ${e.a.ref}  ${e.a.digest}`, `B ${e.b.ref}  ${e.b.digest}`];
  if (e.identical) {
    out.push("same digest: nothing moved");
    return `${out.join("\n")}\n`;
  }
  if (e.platformsOnlyInA.length > 0) out.push(`platforms only in A: ${e.platformsOnlyInA.join(", ")}`);
  if (e.platformsOnlyInB.length > 0) out.push(`platforms only in B: ${e.platformsOnlyInB.join(", ")}`);
  for (const p of e.platforms) {
    const indent = p.platform ? "  " : "";
    if (p.platform) out.push(`${p.platform}:`);
    if (p.config.length === 0) out.push(`${indent}config: ${configNote(p)}`);
    else {
      out.push(`${indent}config:`);
      for (const c of p.config) out.push(`${indent}  ${c.field}: ${configLine(c)}`);
    }
    out.push(`${indent}layers: ${p.layers.shared} shared, ${p.layers.changes.length} differ`);
    if ((p.layers.reordered ?? []).length > 0)
      out.push(`${indent}  same layers, different order: ${reorderLine(p)}`);
    for (const l of p.layers.changes) {
      out.push(`${indent}  ${layerTitle(l)}: ${layerSummary(l)}`);
      const files = l.files ?? [];
      for (const f of files.slice(0, maxFiles)) {
        const mark = f.kind === "added" ? "+" : f.kind === "removed" ? "-" : "~";
        out.push(
          `${indent}    ${mark} ${f.path}${f.kind === "changed" || f.whiteout ? `  ${fileLine(f)}` : ""}`,
        );
      }
      if (files.length > maxFiles)
        out.push(`${indent}    … ${files.length - maxFiles} more (--json lists all)`);
    }
    for (const f of p.findings ?? []) {
      out.push(
        `${indent}why: ${f.what}`,
        `${indent}  likely cause: ${f.cause}`,
        `${indent}  remedy: ${f.remedy}`,
      );
    }
  }
  for (const n of e.notes) out.push(`note: ${n}`);
  return `${out.join("\n")}\n`;
}
