// Tag templates ({sha}, {short_sha}, {branch}) in both directions: render the tag a build pushes, and
// read back the commit a pinned tag records (that is where release notes start).

export interface BuildInfo {
  /** Full 40-hex commit the images were built from. */
  sha: string;
  /** Branch the build ran for (deploy branch). */
  branch: string;
}

/** Branch names may hold characters a tag cannot ("/"): those become "-", as CI tools usually do. */
export function sanitizeTagPart(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[.-]+/, "");
  return cleaned.length === 0 ? "_" : cleaned.slice(0, 128);
}

export function renderTag(template: string, build: BuildInfo): string {
  return template.replace(/\{(sha|short_sha|branch)\}/g, (_, name: string) =>
    name === "sha" ? build.sha : name === "short_sha" ? shortSha(build.sha) : sanitizeTagPart(build.branch),
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The commit a tag made from `template` records, or null when the template holds no commit or the tag
 * does not fit it. A {short_sha} gives an abbreviated commit that the repository port can expand.
 */
export function commitFromTag(template: string, tag: string | null): string | null {
  if (tag === null) return null;
  const pattern = tagPattern(template);
  if (pattern === null) return null;
  const match = pattern.regexp.exec(tag);
  return match ? match[pattern.shaGroup]! : null;
}

/** One pattern per template: a plan reads the tag of every service (500 here) with the same one. */
const tagPatterns = new Map<string, { regexp: RegExp; shaGroup: number } | null>();

function tagPattern(template: string): { regexp: RegExp; shaGroup: number } | null {
  let pattern = tagPatterns.get(template);
  if (pattern !== undefined) return pattern;
  if (!/\{(sha|short_sha)\}/.test(template)) pattern = null;
  else {
    let group = 0;
    let shaGroup = -1;
    const source = template
      .split(/(\{(?:sha|short_sha|branch)\})/)
      .map((part) => {
        if (part === "{sha}" || part === "{short_sha}") {
          group += 1;
          if (shaGroup < 0) shaGroup = group;
          return part === "{sha}" ? "([0-9a-f]{40})" : "([0-9a-f]{7,40})";
        }
        if (part === "{branch}") {
          group += 1;
          return "([A-Za-z0-9_.-]+)";
        }
        return escapeRegExp(part);
      })
      .join("");
    pattern = { regexp: new RegExp(`^${source}$`), shaGroup };
  }
  // Templates come from config files: a long-running App meets few, but bound the map anyway.
  if (tagPatterns.size >= 64) tagPatterns.clear();
  tagPatterns.set(template, pattern);
  return pattern;
}

/** "sha256:0b9a4c0e2d6f…" → "0b9a4c0e2d6f": enough to tell digests apart in a table. */
export function shortDigest(digest: string | null): string {
  if (digest === null) return "—";
  const hex = digest.slice(digest.indexOf(":") + 1);
  return hex.slice(0, 12);
}

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}
