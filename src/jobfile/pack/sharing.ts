// When a pack variable's literal may be pinned: it may hold more than one image's value, or be read
// elsewhere in the template (a condition, a label, another attribute), and an edit would change those too.
import { canonicalRepository, repositoryOf } from "../../image/reference.js";
import type { SiteDetail } from "../jobfile.js";
import { unmanaged } from "../reasons.js";
import type { PackSite } from "./resolve.js";
import type { TemplateRead } from "./template.js";

/** Whether one variable path holds the other (a.b and a.b.c are related; a.b and a.c are not). */
const related = (a: string[], b: string[]) => {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n).every((k, i) => k === b[i]);
};

/**
 * A variable's literal may be pinned when every read of it (or of what holds it) in the template is an
 * image site that pins that same literal, and those sites name one repository (as for job files).
 */
export function settle(found: PackSite[], reads: TemplateRead[]): SiteDetail[] {
  const keyOf = (f: PackSite) => (f.site.edit ? `${f.site.edit.file}:${f.site.edit.start}` : null);
  return found.map((f) => {
    const key = keyOf(f);
    const last = f.site.edit && f.paths.length > 0 ? f.paths[f.paths.length - 1]! : null;
    if (key === null || last === null) return f.site;
    const group = found.filter((g) => keyOf(g) === key);
    const lines = new Set(group.map((g) => g.site.line));
    const others = reads.filter((r) => related(r.path, last) && (r.site === null || !lines.has(r.site)));
    const refuse = (reason: string): SiteDetail => ({
      ...f.site,
      managed: false,
      ...unmanaged("shared", reason),
      edit: null,
    });
    if (others.length > 0) {
      const where = others.map((r) => (r.site === null ? `line ${r.line}` : `the image on line ${r.site}`));
      return refuse(
        `${last.join(".")} is also read at ${[...new Set(where)].join(", ")} of the template; editing it would change that too`,
      );
    }
    const repos = new Set(group.map((g) => canonicalRepository(repositoryOf(g.site.ref!))));
    if (repos.size > 1) {
      return refuse(
        `${last.join(".")} is shared by the images on lines ${[...lines].join(", ")}, which are different repositories (${[...repos].join(", ")})`,
      );
    }
    const shared = [...lines].filter((l) => l !== f.site.line);
    return shared.length > 0 ? { ...f.site, shared } : f.site;
  });
}
