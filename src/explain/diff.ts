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

const OPAQUE = ".wh..wh..opq";

/**
 * What a whiteout path does (OCI image spec, layer changesets): `dir/.wh.NAME` deletes `dir/NAME` from
 * the layers below, `dir/.wh..wh..opq` hides everything they hold under `dir`. Null for other paths.
 */
export function whiteoutOf(path: string): FileChange["whiteout"] | null {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "" : path.slice(0, slash);
  const base = path.slice(slash + 1);
  if (base === OPAQUE) return { kind: "opaque", target: dir || "/" };
  if (base.startsWith(".wh.") && base.length > 4) {
    const name = base.slice(4);
    return { kind: "file", target: dir ? `${dir}/${name}` : name };
  }
  return null;
}

/** Whether the paths both lists hold come in the same order (first occurrence of each). */
function sameOrder(a: readonly TarEntry[], b: readonly TarEntry[]): boolean {
  const inA = new Set(a.map((e) => e.path));
  const inB = new Set(b.map((e) => e.path));
  const order = (list: readonly TarEntry[], other: Set<string>) => [
    ...new Set(list.map((e) => e.path).filter((p) => other.has(p))),
  ];
  const oa = order(a, inB);
  const ob = order(b, inA);
  return oa.every((p, i) => p === ob[i]);
}

/**
 * Paths added, removed or changed between two layers' entries. A path listed twice in one layer
 * (allowed in tar) counts by its last entry, as extraction would leave it. Whiteouts are marked.
 */
export function diffEntries(
  a: readonly TarEntry[],
  b: readonly TarEntry[],
): { changes: FileChange[]; unchanged: number; order: "same" | "differs" } {
  const last = (list: readonly TarEntry[]) => new Map(list.map((e) => [e.path, e]));
  const ma = last(a);
  const mb = last(b);
  const changes: FileChange[] = [];
  let unchanged = 0;
  for (const path of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const ea = ma.get(path);
    const eb = mb.get(path);
    const whiteout = whiteoutOf(path);
    const marked = whiteout ? { whiteout } : {};
    if (!ea) changes.push({ path, kind: "added", ...marked });
    else if (!eb) changes.push({ path, kind: "removed", ...marked });
    else {
      const { aspects, details } = entryAspects(ea, eb);
      if (aspects.length === 0) unchanged++;
      else changes.push({ path, kind: "changed", aspects, details, ...marked });
    }
  }
  return { changes, unchanged, order: sameOrder(a, b) ? "same" : "differs" };
}

/**
 * Shared layers (same diff_id on both sides) whose order relative to each other differs, with their
 * positions; empty when the shared layers are stacked in the same order (added or removed layers
 * around them do not count as reordering).
 */
export function reorderedLayers(
  a: readonly string[],
  b: readonly string[],
): Array<{ diffId: string; a: number; b: number }> {
  const inA = new Set(a);
  const inB = new Set(b);
  const sharedA = a.filter((d) => inB.has(d));
  const sharedB = b.filter((d) => inA.has(d));
  if (sharedA.every((d, i) => d === sharedB[i])) return [];
  return sharedA.flatMap((diffId, rank) =>
    sharedB[rank] === diffId ? [] : [{ diffId, a: a.indexOf(diffId), b: b.indexOf(diffId) }],
  );
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
