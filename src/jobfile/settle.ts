// Which image sites may have their literal edited: a literal other parts of the file also read is
// only edited when every reader is an image site of the same repository (they then move together).
// Worked out once per literal, not per site: a shared variable can have hundreds of readers.
import { canonicalRepository, repositoryOf } from "../image/reference.js";
import type { SiteDetail } from "./jobfile.js";
import { type Unmanaged, unmanaged } from "./reasons.js";

/** A traversal followed: the path read and where the reference is written in the job file. */
export interface Link {
  path: string[];
  at: number;
}

/** A site as first found, with what the sharing check needs. */
export interface Found {
  site: SiteDetail;
  /** the last piece's chain: the references through which the edited literal is read */
  links: Link[];
  /** every reference its value was read through (all pieces) */
  readers: number[];
  /** file:start of the literal an edit would change */
  key: string | null;
  /** why it cannot be edited, though its value resolved (null: editable so far) */
  refusal: Unmanaged | null;
}

/** What the sites that edit one literal share, worked out once for all of them. */
interface SharedGroup {
  /** where they read the literal from */
  readers: Set<number>;
  /** by path (joined with NUL): how many other references read it, what holds it or what it holds */
  others: Map<string, number>;
  /** the repositories they name, canonical */
  repos: Set<string> | null;
}

const prefixOf = (a: string[], b: string[]) => a.length <= b.length && a.every((k, i) => k === b[i]);

/**
 * A literal may be edited when every reference to what holds it comes from an image site that
 * edits that same literal, and all those sites name one repository (one pin fits them all).
 */
export function settle(found: readonly Found[], uses: readonly Link[]): SiteDetail[] {
  const groups = new Map<string, Found[]>();
  for (const f of found) {
    if (f.key === null) continue;
    const group = groups.get(f.key);
    if (group) group.push(f);
    else groups.set(f.key, [f]);
  }
  // Per group, once: where its sites read the literal from (a shared variable has hundreds of
  // readers), how many other references each path has, and the repositories its sites name.
  const shared = new Map<Found[], SharedGroup>();
  const byRoot = usesByRoot(uses);
  return found.map((f) => {
    if (f.key === null) return f.site;
    const group = groups.get(f.key)!;
    let known = shared.get(group);
    if (!known) shared.set(group, (known = sharedGroup(group)));
    const refusal = f.refusal ?? sharing(f, group, known, byRoot);
    if (refusal) return { ...f.site, managed: false, ...refusal, edit: null };
    const lines = group.filter((g) => g !== f).map((g) => g.site.line);
    return lines.length > 0 ? { ...f.site, shared: lines } : f.site;
  });
}

function sharedGroup(group: Found[]): SharedGroup {
  const readers = new Set(group.flatMap((g) => g.links.map((l) => l.at)));
  return { readers, others: new Map(), repos: null };
}

/** The `var.`/`local.` uses by their first two steps (every traversal path has at least two). */
function usesByRoot(uses: readonly Link[]): Map<string, Link[]> {
  const byRoot = new Map<string, Link[]>();
  for (const q of uses) {
    const root = `${q.path[0]}\0${q.path[1]}`;
    const list = byRoot.get(root);
    if (list) list.push(q);
    else byRoot.set(root, [q]);
  }
  return byRoot;
}

/** References to `path`, to what holds it or to what it holds, that are not one of `readers`. */
function othersReading(path: string[], known: SharedGroup, byRoot: Map<string, Link[]>): number {
  const name = path.join("\0");
  const cached = known.others.get(name);
  if (cached !== undefined) return cached;
  const candidates = byRoot.get(`${path[0]}\0${path[1]}`) ?? [];
  const count = candidates.filter(
    (q) => (prefixOf(q.path, path) || prefixOf(path, q.path)) && !known.readers.has(q.at),
  ).length;
  known.others.set(name, count);
  return count;
}

function sharing(
  f: Found,
  group: Found[],
  known: SharedGroup,
  byRoot: Map<string, Link[]>,
): Unmanaged | null {
  for (const { path } of f.links) {
    const others = othersReading(path, known, byRoot);
    if (others > 0) {
      const name = path.join(".");
      return unmanaged(
        "shared",
        `${name} is also read outside image sites (${others} other reference${others === 1 ? "" : "s"} to it or to what holds it in this file); editing it would change them too`,
      );
    }
  }
  if (group.length === 1) return null;
  const blocked = group.find((g) => g.refusal !== null);
  if (blocked) {
    return unmanaged(
      "shared",
      `its value is shared with the image on line ${blocked.site.line}, which cannot be pinned (${blocked.refusal!.reason})`,
    );
  }
  known.repos ??= new Set(group.map((g) => canonicalRepository(repositoryOf(g.site.ref!))));
  if (known.repos.size > 1) {
    const lines = group.map((g) => g.site.line).join(", ");
    return unmanaged(
      "shared",
      `${f.links[f.links.length - 1]!.path.join(".")} is shared by the images on lines ${lines}, which are different repositories (${[...known.repos].join(", ")})`,
    );
  }
  return null;
}
