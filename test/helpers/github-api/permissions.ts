// Fine-grained permissions as GitHub checks them for an installation token (an App's, or a workflow's
// GITHUB_TOKEN scoped by `permissions:`): each route accepts one or more permission sets, checked before
// the request's body is looked at. A token without any of them gets 403 "Resource not accessible by
// integration" and `X-Accepted-GitHub-Permissions` naming the sets (REST), or a FORBIDDEN error (GraphQL).
// From GitHub's "Permissions required for GitHub Apps" pages, for the routes the stand-in answers.

export type Level = "read" | "write";
/** Permission → level; a permission left out is none. */
export type Grants = Record<string, Level | "admin">;
/** Alternatives: any one set (all of its pairs) is enough. */
export type Accepted = Array<Array<[string, Level]>>;

const one = (permission: string, level: Level): Accepted => [[[permission, level]]];
const either = (a: string, b: string, level: Level): Accepted => [[[a, level]], [[b, level]]];

/** What a route needs (`route` as the stand-in names it, e.g. "POST /repos/:owner/:repo/pulls"). */
export function acceptedFor(route: string): Accepted | null {
  const [method, path = ""] = route.split(" ");
  const write: Level = method === "GET" ? "read" : "write";
  if (route === "graphql query") return one("contents", "read");
  if (route === "graphql mutation") return one("contents", "write");
  if (!path.startsWith("/repos/:owner/:repo")) return null;
  const rest = path.slice("/repos/:owner/:repo".length);
  if (rest === "" || rest === "/installation") return one("metadata", "read");
  if (/^\/(contents|git|commits\/:ref$|compare|releases)/.test(rest) && !rest.includes("check-runs"))
    return one("contents", write);
  if (rest.includes("check-runs")) return one("checks", write);
  if (rest.startsWith("/pulls")) return one("pull_requests", write);
  // Labels and comments of a PR: either permission (a PR is an issue too).
  if (/^\/issues\/(:number\/(labels|comments)|comments)/.test(rest))
    return either("issues", "pull_requests", write);
  if (rest.startsWith("/issues")) return one("issues", write);
  if (rest.startsWith("/actions")) return one("actions", write);
  if (rest.startsWith("/deployments")) return one("deployments", write);
  if (rest.startsWith("/attestations")) return one("attestations", write);
  return null;
}

const RANK = { read: 1, write: 2, admin: 3 } as const;

/** The sets `grants` meets none of, as GitHub's header says them; null when the request may go on. */
export function refusal(grants: Grants | null, accepted: Accepted | null): string | null {
  if (!grants || !accepted) return null;
  const meets = accepted.some((set) =>
    set.every(([permission, level]) => (RANK[grants[permission] ?? ("" as never)] ?? 0) >= RANK[level]),
  );
  if (meets) return null;
  return accepted.map((set) => set.map(([p, l]) => `${p}=${l}`).join(",")).join("; ");
}

/** A workflow token as `permissions:` scopes it (hyphenated keys, as in the YAML). */
export function workflowGrants(permissions: Record<string, Level | "none">): Grants {
  const grants: Grants = { metadata: "read" };
  for (const [key, level] of Object.entries(permissions))
    if (level !== "none") grants[key.replace(/-/g, "_")] = level;
  return grants;
}
