// Repository-relative path globs as the config writes them: `**` crosses directories, `*` and `?` do
// not, `{a,b}` alternates, and a pattern without wildcards also matches everything below it
// ("services/banana" == "services/banana/**"). Git understands the same through `:(glob)` pathspecs.

const cache = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  const cached = cache.get(pattern);
  if (cached) return cached;
  const clean = pattern.replace(/^\.\//, "").replace(/\/+$/, "");
  let out = "";
  let depth = 0;
  for (let i = 0; i < clean.length; i += 1) {
    const c = clean[i]!;
    if (c === "*") {
      if (clean[i + 1] === "*") {
        const before = i === 0 || clean[i - 1] === "/";
        const after = clean[i + 2] === "/" || i + 2 === clean.length;
        if (before && clean[i + 2] === "/") {
          out += "(?:[^/]+/)*";
          i += 2;
          continue;
        }
        if (before && after) {
          out += ".*";
          i += 1;
          continue;
        }
        out += "[^/]*";
        i += 1;
        continue;
      }
      out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "{") {
      depth += 1;
      out += "(?:";
    } else if (c === "}" && depth > 0) {
      depth -= 1;
      out += ")";
    } else if (c === "," && depth > 0) out += "|";
    else out += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  const literal = !/[*?{]/.test(clean);
  const re = new RegExp(`^${out}${literal ? "(?:/.*)?" : ""}$`);
  cache.set(pattern, re);
  return re;
}

export function matchesAny(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(path));
}
