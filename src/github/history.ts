// Commit history without a clone: how two commits relate (the compare API), and which commits touched some
// paths (GraphQL `history`, one alias per path, whatever the number of services).
import { ALIASES_PER_QUERY } from "./files.js";
import type { RepoApi } from "./types.js";

export interface CommitSummary {
  sha: string;
  message: string;
  url: string;
  author: string | null;
  date: string | null;
}

export type CompareStatus = "ahead" | "behind" | "identical" | "diverged";

/** How `head` relates to `base`: "behind" means head is an ancestor of base (an older commit). */
export async function compareRange(
  api: RepoApi,
  base: string,
  head: string,
): Promise<{ status: CompareStatus; commits: CommitSummary[]; files: string[] }> {
  // One page: up to 250 commits and 300 files, plenty for one deploy's release notes.
  const { data } = await api.octokit.rest.repos.compareCommitsWithBasehead({
    ...api.coords,
    basehead: `${base}...${head}`,
  });
  return {
    status: data.status,
    files: (data.files ?? []).flatMap((f) =>
      f.previous_filename ? [f.filename, f.previous_filename] : [f.filename],
    ),
    commits: data.commits.map((c) => ({
      sha: c.sha,
      message: c.commit.message,
      url: c.html_url,
      author: c.author?.login ?? c.commit.author?.name ?? null,
      date: c.commit.committer?.date ?? c.commit.author?.date ?? null,
    })),
  };
}

/**
 * Commits reachable from `head` that touch any of `paths`, for several path sets at once: one GraphQL query
 * with one `history` alias per distinct path. `since` (ISO date) bounds it.
 */
export async function history(
  api: RepoApi,
  head: string,
  paths: string[],
  since?: string,
): Promise<Map<string, CommitSummary[]>> {
  const out = new Map<string, CommitSummary[]>();
  const unique = [...new Set(paths)];
  for (let start = 0; start < unique.length; start += ALIASES_PER_QUERY) {
    const chunk = unique.slice(start, start + ALIASES_PER_QUERY);
    const vars: Record<string, string> = { ...api.coords, head };
    const decl = ["$owner: String!", "$repo: String!", "$head: GitObjectID!"];
    if (since) {
      vars.since = since;
      decl.push("$since: GitTimestamp");
    }
    const fields = chunk.map((path, i) => {
      vars[`p${i}`] = path;
      decl.push(`$p${i}: String`);
      return `h${i}: history(first: 100, path: $p${i}${since ? ", since: $since" : ""}) { nodes { oid message url committedDate author { name user { login } } } }`;
    });
    const query = `query(${decl.join(", ")}) { repository(owner: $owner, name: $repo) { object(oid: $head) { ... on Commit { ${fields.join(" ")} } } } }`;
    const data = await api.octokit.graphql<{
      repository: {
        object: Record<
          string,
          {
            nodes: Array<{
              oid: string;
              message: string;
              url: string;
              committedDate: string;
              author: { name: string | null; user: { login: string } | null } | null;
            }>;
          }
        > | null;
      };
    }>(query, vars);
    chunk.forEach((path, i) => {
      const nodes = data.repository.object?.[`h${i}`]?.nodes ?? [];
      out.set(
        path,
        nodes.map((n) => ({
          sha: n.oid,
          message: n.message,
          url: n.url,
          author: n.author?.user?.login ?? n.author?.name ?? null,
          date: n.committedDate,
        })),
      );
    });
  }
  return out;
}

/**
 * When a commit was made (its committer date), one request: what a `workflow_run` carries as
 * `head_commit.timestamp`, for events that do not (a Checks-tab re-run).
 */
export async function commitDate(api: RepoApi, sha: string): Promise<Date | null> {
  const { data } = await api.octokit.rest.git.getCommit({ ...api.coords, commit_sha: sha });
  const stamp = data.committer?.date ?? data.author?.date;
  return stamp ? new Date(stamp) : null;
}
