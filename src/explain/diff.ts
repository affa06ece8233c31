// The pure comparisons behind an explanation: two image configs, two layer lists (by diff_id) and two
// layers' tar entries. No I/O here.
import type { ImageConfig } from "../image/manifest.js";
import type { ConfigChange, EntryAspect, FileChange, TarEntry } from "./types.js";

export type { ImageConfig };

const show = (value: unknown): string | undefined =>
  value === undefined || value === null || value === ""
    ? undefined
    : typeof value === "string"
      ? value
      : JSON.stringify(value);

function change(out: ConfigChange[], field: string, before: unknown, after: unknown) {
  const b = show(before);
  const a = show(after);
  if (b === a) return;
  out.push({ field, ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}) });
}

function envMap(env: string[] | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of env ?? []) {
    const eq = item.indexOf("=");
    out.set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? "" : item.slice(eq + 1));
  }
  return out;
}

function keyed(out: ConfigChange[], prefix: string, a: Map<string, string>, b: Map<string, string>) {
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const before = a.get(key);
    const after = b.get(key);
    if (before === after) continue;
    // An empty value is still a value here (ENV X= differs from no X).
    out.push({
      field: `${prefix} ${key}`,
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
    });
  }
}

const keys = (o: Record<string, unknown> | null | undefined) => (o ? Object.keys(o).sort() : undefined);

/** Config differences people care about, in a fixed order. */
export function diffConfigs(a: ImageConfig, b: ImageConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  const ca = a.config ?? {};
  const cb = b.config ?? {};
  change(out, "created", a.created, b.created);
  change(out, "author", a.author, b.author);
  change(out, "platform", platformOf(a), platformOf(b));
  keyed(out, "env", envMap(ca.Env), envMap(cb.Env));
  keyed(out, "label", new Map(Object.entries(ca.Labels ?? {})), new Map(Object.entries(cb.Labels ?? {})));
  change(out, "entrypoint", ca.Entrypoint, cb.Entrypoint);
  change(out, "cmd", ca.Cmd, cb.Cmd);
  change(out, "workdir", ca.WorkingDir, cb.WorkingDir);
  change(out, "user", ca.User, cb.User);
  change(out, "exposed ports", keys(ca.ExposedPorts), keys(cb.ExposedPorts));
  change(out, "volumes", keys(ca.Volumes), keys(cb.Volumes));
  change(out, "stop signal", ca.StopSignal, cb.StopSignal);
  change(out, "layers", a.rootfs?.diff_ids?.length ?? 0, b.rootfs?.diff_ids?.length ?? 0);
  change(out, "history entries", a.history?.length ?? 0, b.history?.length ?? 0);
  // Build steps: the first one that differs says what the build did differently (timestamps aside).
  const ha = a.history ?? [];
  const hb = b.history ?? [];
  const step = ha.findIndex(
    (h, i) => hb[i] !== undefined && (h.created_by ?? "") !== (hb[i]!.created_by ?? ""),
  );
  if (step >= 0) change(out, `history[${step}] created_by`, ha[step]!.created_by, hb[step]!.created_by);
  return out;
}

export function platformOf(c: Pick<ImageConfig, "os" | "architecture" | "variant">): string {
  return [c.os ?? "?", c.architecture ?? "?", c.variant].filter(Boolean).join("/");
}

/**
 * Pairs the layers that differ. Layers whose diff_id both images have are shared (wherever they sit);
 * the remaining ones are paired in order, extra ones on one side are added or removed layers.
 */
export function pairLayers(
  a: readonly string[],
  b: readonly string[],
): { shared: number; pairs: Array<[number | null, number | null]> } {
  const inA = new Set(a);
  const inB = new Set(b);
  const onlyA = a.flatMap((d, i) => (inB.has(d) ? [] : [i]));
  const onlyB = b.flatMap((d, i) => (inA.has(d) ? [] : [i]));
  const pairs: Array<[number | null, number | null]> = [];
  for (let i = 0; i < Math.max(onlyA.length, onlyB.length); i++)
    pairs.push([onlyA[i] ?? null, onlyB[i] ?? null]);
  return { shared: a.filter((d) => inB.has(d)).length, pairs };
}

const iso = (seconds: number) => {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace(".000Z", "Z");
};
const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;
const owner = (e: TarEntry) =>
  `${e.uid}:${e.gid}${e.uname || e.gname ? ` (${e.uname || e.uid}:${e.gname || e.gid})` : ""}`;

/** Compares two entries of the same path; empty when identical. */
export function entryAspects(
  a: TarEntry,
  b: TarEntry,
): { aspects: EntryAspect[]; details: Partial<Record<EntryAspect, string>> } {
  const aspects: EntryAspect[] = [];
  const details: Partial<Record<EntryAspect, string>> = {};
  const add = (aspect: EntryAspect, differs: boolean, before: string, after: string) => {
    if (!differs) return;
    aspects.push(aspect);
    details[aspect] = `${before} → ${after}`;
  };
  add("type", a.type !== b.type, a.type, b.type);
  add(
    "content",
    a.type === b.type && (a.sha256 !== b.sha256 || a.size !== b.size),
    `${a.size} B ${a.sha256.slice(7, 19)}`,
    `${b.size} B ${b.sha256.slice(7, 19)}`,
  );
  add("link", a.linkname !== b.linkname, a.linkname || "—", b.linkname || "—");
  add("mode", a.mode !== b.mode, octal(a.mode), octal(b.mode));
  add("owner", owner(a) !== owner(b), owner(a), owner(b));
  add("mtime", a.mtime !== b.mtime, iso(a.mtime), iso(b.mtime));
  return { aspects, details };
}

/**
 * Paths added, removed or changed between two layers' entries. A path listed twice in one layer
 * (allowed in tar) counts by its last entry, as extraction would leave it.
 */
export function diffEntries(
  a: readonly TarEntry[],
  b: readonly TarEntry[],
): { changes: FileChange[]; unchanged: number } {
  const last = (list: readonly TarEntry[]) => new Map(list.map((e) => [e.path, e]));
  const ma = last(a);
  const mb = last(b);
  const changes: FileChange[] = [];
  let unchanged = 0;
  for (const path of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const ea = ma.get(path);
    const eb = mb.get(path);
    if (!ea) changes.push({ path, kind: "added" });
    else if (!eb) changes.push({ path, kind: "removed" });
    else {
      const { aspects, details } = entryAspects(ea, eb);
      if (aspects.length === 0) unchanged++;
      else changes.push({ path, kind: "changed", aspects, details });
    }
  }
  return { changes, unchanged };
}

/** "mtime only", "mode only", "content, mtime": how people read a change. */
export function describeAspects(aspects: readonly EntryAspect[]): string {
  if (aspects.length === 1 && aspects[0] !== "content" && aspects[0] !== "type") return `${aspects[0]} only`;
  return aspects.join(", ");
}

/** Counts by kind of change, for one-line summaries ("2 changed (1 mtime only), 1 added"). */
export function countFileChanges(changes: readonly FileChange[]): {
  added: number;
  removed: number;
  changed: number;
  metadataOnly: Partial<Record<"mtime" | "mode" | "owner", number>>;
} {
  const out = {
    added: 0,
    removed: 0,
    changed: 0,
    metadataOnly: {} as Partial<Record<"mtime" | "mode" | "owner", number>>,
  };
  for (const c of changes) {
    out[c.kind]++;
    const only = c.aspects?.length === 1 ? c.aspects[0] : undefined;
    if (only === "mtime" || only === "mode" || only === "owner")
      out.metadataOnly[only] = (out.metadataOnly[only] ?? 0) + 1;
  }
  return out;
}
