// Reading a repository's files without a clone: the tree API lists every file in one request, and one
// GraphQL query with aliases fetches the texts of up to 250 of them.
import type { Unreadable } from "../core/ports.js";
import type { RepoApi } from "./types.js";

export interface TreeFile {
  path: string;
  /** Blob sha: equal shas mean equal contents. */
  sha: string;
  mode: string;
  size: number | null;
}

/** GraphQL aliases per query: well below GitHub's node limits, and a 100-service repo still takes one query. */
export const ALIASES_PER_QUERY = 250;

/** Every file of a commit's tree, one request. */
export async function listFiles(api: RepoApi, treeOrCommit: string): Promise<TreeFile[]> {
  const { data } = await api.octokit.rest.git.getTree({
    ...api.coords,
    tree_sha: treeOrCommit,
    recursive: "1",
  });
  if (data.truncated) {
    // GitHub cuts recursive listings at 100,000 entries / 7 MB; a partial list would silently miss job files.
    throw new Error(
      `the tree of ${treeOrCommit} is too large for one listing (GitHub truncated it); narrow \`jobs\` globs cannot help here`,
    );
  }
  return data.tree
    .filter((e) => e.type === "blob" && e.path !== undefined && e.sha !== undefined)
    .map((e) => ({ path: e.path!, sha: e.sha!, mode: e.mode ?? "100644", size: e.size ?? null }));
}

/**
 * Texts of many files at one commit: one GraphQL query per 250 files. Missing files map to null; a binary
 * or truncated blob is an error for that file only (job files and release notes are text).
 */
export async function readTexts(
  api: RepoApi,
  commit: string,
  paths: string[],
): Promise<Map<string, string | Unreadable | null>> {
  const byExpression = await readBlobs(
    api,
    [...new Set(paths)].map((p) => `${commit}:${p}`),
  );
  return new Map([...byExpression].map(([expression, text]) => [expression.slice(commit.length + 1), text]));
}

/** Texts by "<commit>:<path>" expression, any commits mixed: one GraphQL query per 250 expressions. */
export async function readBlobs(
  api: RepoApi,
  expressions: string[],
): Promise<Map<string, string | Unreadable | null>> {
  const out = new Map<string, string | Unreadable | null>();
  const unique = [...new Set(expressions)];
  for (let start = 0; start < unique.length; start += ALIASES_PER_QUERY) {
    const chunk = unique.slice(start, start + ALIASES_PER_QUERY);
    const vars: Record<string, string> = { ...api.coords };
    const decl: string[] = ["$owner: String!", "$repo: String!"];
    const fields: string[] = [];
    chunk.forEach((expression, i) => {
      vars[`e${i}`] = expression;
      decl.push(`$e${i}: String!`);
      fields.push(`f${i}: object(expression: $e${i}) { ... on Blob { text isBinary isTruncated } }`);
    });
    const query = `query(${decl.join(", ")}) { repository(owner: $owner, name: $repo) { ${fields.join(" ")} } }`;
    const data = await api.octokit.graphql<{
      repository: Record<
        string,
        { text: string | null; isBinary: boolean | null; isTruncated: boolean } | null
      >;
    }>(query, vars);
    chunk.forEach((expression, i) => {
      const blob = data.repository[`f${i}`];
      if (!blob) {
        out.set(expression, null);
        return;
      }
      if (blob.isBinary || blob.text === null) out.set(expression, { unreadable: "a binary file, not text" });
      else if (blob.isTruncated) out.set(expression, { unreadable: "too large to read through the API" });
      else out.set(expression, blob.text);
    });
  }
  return out;
}
