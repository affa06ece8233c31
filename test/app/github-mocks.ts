// Reusable nock interceptors for the GitHub calls the App makes, with the exact request bodies. Each helper
// mocks one request; a test lists them in the order the App makes them and ends with pendingMocks() empty.
import { execa } from "execa";
import nock from "nock";
import { OWNER, REPO } from "../fixtures/github/payloads.js";
import { github } from "./harness.js";

export const R = `/repos/${OWNER}/${REPO}`;

/** `.github/nomad-gitops.yml` at `ref` (text), or 404 in the repo and in the org's `.github` repo. */
export function mockConfig(text: string | null, ref?: string): void {
  const query = ref ? { ref } : {};
  const path = `${R}/contents/.github%2Fnomad-gitops.yml`;
  if (text === null) {
    github().get(path).query(query).reply(404, { message: "Not Found" });
    github()
      .get(`/repos/${OWNER}/.github/contents/.github%2Fnomad-gitops.yml`)
      .reply(404, { message: "Not Found" });
    return;
  }
  github()
    .get(path)
    .query(query)
    .reply(200, text, { "content-type": "application/vnd.github.raw; charset=utf-8" });
}

export interface CheckRunFixture {
  id: number;
  status: string;
  conclusion?: string | null;
  /** The attempt that owns the run (github/checks.ts attemptKey), e.g. BUILD_KEY. */
  external_id?: string;
  output?: { title: string | null; summary: string | null };
}

/** The external_id of the push's waiting run, and of attempt `n` of build run 9001 (the fixtures' run id). */
export const PUSH_KEY = "nomad-gitops:push";
export const buildKey = (attempt = 1, runId = 9001) => `nomad-gitops:build:${runId}:${attempt}`;

export function mockCheckList(sha: string, runs: CheckRunFixture[]): void {
  github()
    .get(`${R}/commits/${sha}/check-runs`)
    .query({ check_name: "nomad-gitops", filter: "all", per_page: 100 })
    .reply(200, {
      total_count: runs.length,
      check_runs: runs.map((r) => ({
        conclusion: null,
        external_id: "",
        output: { title: null, summary: null },
        ...r,
      })),
    });
}

export function mockCheckCreate(body: Record<string, unknown>, id = 77): void {
  github()
    .post(`${R}/check-runs`, body as nock.RequestBodyMatcher)
    .reply(201, { id, status: body.status });
}

/**
 * The check run an invalid config gets on `sha`, completed at once: GitHub must receive exactly this body,
 * one line per problem inside the code block.
 */
export function mockInvalidConfigCheck(sha: string, ...problems: string[]): void {
  mockCheckCreate({
    name: "nomad-gitops",
    head_sha: sha,
    status: "completed",
    conclusion: "failure",
    output: {
      title: "Invalid .github/nomad-gitops.yml",
      summary: [
        "`.github/nomad-gitops.yml` is not valid, so nothing was planned or changed:",
        "",
        "```",
        ...problems,
        "```",
      ].join("\n"),
    },
  });
}

export function mockCheckUpdate(
  id: number,
  body: Record<string, unknown> | ((body: never) => boolean),
): void {
  github()
    .patch(`${R}/check-runs/${id}`, body as nock.RequestBodyMatcher)
    .reply(200, { id });
}

export const GRAPHQL = "/graphql";

interface GraphqlBody {
  query: string;
  variables: Record<string, unknown>;
}

/** A GraphQL request recognised by a fragment of its query, with exactly these variables. */
export function mockGraphql(fragment: string, variables: Record<string, unknown>, data: unknown): void {
  github()
    .post(GRAPHQL, (body: GraphqlBody) => {
      if (!body.query.includes(fragment)) return false;
      expectEqual(body.variables, variables, `variables of the GraphQL query with "${fragment}"`);
      return true;
    })
    .reply(200, { data });
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(sortKeys(actual));
  const e = JSON.stringify(sortKeys(expected));
  // Thrown inside nock's matcher it would only say "no match": print the difference.
  if (a !== e) {
    process.stderr.write(`mismatch in ${what}:\n  actual   ${a}\n  expected ${e}\n`);
    throw new Error(`mismatch in ${what}`);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export interface PrHeadFixture {
  sha: string;
  tree: string;
  parent: string;
  /** Build recorded in the trailer; null for a human commit. */
  build: string | null;
  bot: boolean;
}

export function mockBranches(input: {
  base: string;
  head: string;
  baseSha: string | null;
  baseTree?: string;
  prHead?: PrHeadFixture | null;
}): void {
  const h = input.prHead;
  mockGraphql(
    "base: ref(qualifiedName: $base)",
    { owner: "acme", repo: "platform", base: `refs/heads/${input.base}`, head: `refs/heads/${input.head}` },
    {
      repository: {
        id: "R_kgDOtest",
        base: input.baseSha ? { target: { oid: input.baseSha, tree: { oid: input.baseTree } } } : null,
        head: h
          ? {
              target: {
                oid: h.sha,
                tree: { oid: h.tree },
                message: h.build
                  ? `Deploy banana\n\nNomad-Gitops-Build: ${h.build}\n`
                  : "tweak the job by hand",
                author: { name: h.bot ? "nomad-gitops[bot]" : "Jane Doe" },
                committer: { name: h.bot ? "GitHub" : "Jane Doe" },
                parents: { nodes: [{ oid: h.parent }] },
                signature: h.bot ? { isValid: true, wasSignedByGitHub: true } : null,
              },
            }
          : null,
      },
    },
  );
}

/**
 * The tree listing; `modes` overrides a path's mode (default 100644), e.g. 120000 for a symbolic link, and
 * `shas` a path's blob sha (default a made-up one, fixed by the path's position).
 */
export function mockTree(
  tree: string,
  files: Record<string, string>,
  modes: Record<string, string> = {},
  shas: Record<string, string> = {},
): void {
  github()
    .get(`${R}/git/trees/${tree}`)
    .query({ recursive: "1" })
    .reply(200, {
      sha: tree,
      truncated: false,
      tree: [
        { path: "nomad", mode: "040000", type: "tree", sha: "d".repeat(40) },
        ...Object.entries(files).map(([path, text], i) => ({
          path,
          mode: modes[path] ?? "100644",
          type: "blob",
          sha: shas[path] ?? String(i).padStart(40, "b"),
          size: text.length,
        })),
      ],
    });
}

/** The bulk read: one GraphQL query whose expressions are "<commit>:<path>" for every path, in order. */
/** Blob texts as GraphQL returns them; a `{ blob }` entry stands for a binary or truncated blob. */
export function mockReadTexts(
  commit: string,
  files: Array<[string, string | { blob: { text: string | null; isBinary: boolean; isTruncated: boolean } }]>,
): void {
  const variables: Record<string, unknown> = { owner: "acme", repo: "platform" };
  const repository: Record<string, unknown> = {};
  files.forEach(([path, text], i) => {
    variables[`e${i}`] = `${commit}:${path}`;
    repository[`f${i}`] =
      typeof text === "string" ? { text, isBinary: false, isTruncated: false } : text.blob;
  });
  mockGraphql("object(expression: $e0)", variables, { repository });
}

export interface CompareFixture {
  status: "ahead" | "behind" | "identical" | "diverged";
  commits?: Array<{ sha: string; message: string; date: string }>;
  files?: string[];
}

export function mockCompare(base: string, head: string, fx: CompareFixture | 404): void {
  const scope = github().get(`${R}/compare/${base}...${head}`);
  if (fx === 404) {
    scope.reply(404, { message: "Not Found" });
    return;
  }
  scope.reply(200, {
    status: fx.status,
    ahead_by: fx.commits?.length ?? 0,
    behind_by: 0,
    total_commits: fx.commits?.length ?? 0,
    commits: (fx.commits ?? []).map((c) => ({
      sha: c.sha,
      html_url: `https://github.com/acme/platform/commit/${c.sha}`,
      author: { login: "dev" },
      commit: { message: c.message, author: { name: "Dev", date: c.date }, committer: { date: c.date } },
    })),
    files: (fx.files ?? []).map((filename) => ({ filename, status: "modified" })),
  });
}

export function mockHistory(
  head: string,
  prefixes: string[],
  since: string | undefined,
  nodes: Array<Array<{ sha: string; message: string; date: string }>>,
): void {
  const variables: Record<string, unknown> = { owner: "acme", repo: "platform", head };
  if (since) variables.since = since;
  const object: Record<string, unknown> = {};
  prefixes.forEach((p, i) => {
    variables[`p${i}`] = p;
    object[`h${i}`] = {
      nodes: (nodes[i] ?? []).map((c) => ({
        oid: c.sha,
        message: c.message,
        url: `https://github.com/acme/platform/commit/${c.sha}`,
        committedDate: c.date,
        author: { name: "Dev", user: { login: "dev" } },
      })),
    };
  });
  mockGraphql("history(first: 100, path: $p0", variables, { repository: { object } });
}

export interface OpenPr {
  number: number;
  title: string;
  body: string;
  labels: string[];
  headSha: string;
}

export function mockFindPr(branch: string, base: string, pr: OpenPr | null): void {
  github()
    .get(`${R}/pulls`)
    .query({ state: "open", head: `acme:${branch}`, base, per_page: 1 })
    .reply(
      200,
      pr
        ? [
            {
              number: pr.number,
              title: pr.title,
              body: pr.body,
              labels: pr.labels.map((name) => ({ name })),
              head: { sha: pr.headSha, ref: branch },
              html_url: `https://github.com/acme/platform/pull/${pr.number}`,
            },
          ]
        : [],
    );
}

/** Captures a JSON body for a later snapshot, replying `reply`. */
export function capture(
  method: "post" | "patch",
  path: string,
  into: unknown[],
  reply: { status: number; body: Record<string, unknown> },
): void {
  const record = (body: unknown) => {
    into.push(body);
    return true;
  };
  const scope = github();
  const interceptor = method === "post" ? scope.post(path, record) : scope.patch(path, record);
  interceptor.reply(reply.status, reply.body);
}

export function mockComments(
  issue: number,
  comments: Array<{ id: number; body: string; bot: boolean }>,
): void {
  github()
    .get(`${R}/issues/${issue}/comments`)
    .query({ per_page: 100 })
    .reply(
      200,
      comments.map((c) => ({
        id: c.id,
        body: c.body,
        user: { login: c.bot ? "nomad-gitops[bot]" : "jane", type: c.bot ? "Bot" : "User" },
      })),
    );
}

/** Git's own blob sha of a text (`git hash-object`), to list a tree holding what the bot wrote. */
export async function gitBlobShaOf(text: string): Promise<string> {
  return (await execa("git", ["hash-object", "--stdin"], { input: text })).stdout.trim();
}

/** The git commit read for its date (a Checks-tab re-run dates its release notes by the build commit). */
export function mockCommitDate(sha: string, date: string): void {
  github().get(`${R}/git/commits/${sha}`).reply(200, { sha, author: { date }, committer: { date } });
}

/** The createCommitOnBranch mutation's input, captured into `bodies`; GitHub answers with commit `oid`. */
export function captureCommitOnBranch(bodies: unknown[], oid: string): void {
  github()
    .post(GRAPHQL, (b: { query: string; variables: { input: unknown } }) => {
      if (!b.query.includes("createCommitOnBranch(")) return false;
      bodies.push(b.variables.input);
      return true;
    })
    .reply(200, { data: { createCommitOnBranch: { commit: { oid } } } });
}

/**
 * A PR branch that does not exist yet, written: created at the deploy branch head (its body captured), then
 * one createCommitOnBranch on it (its input captured).
 */
export function mockNewBranchCommit(bodies: unknown[], oid: string): void {
  capture("post", `${R}/git/refs`, bodies, { status: 201, body: { ref: "refs/heads/nomad-gitops/deploy" } });
  captureCommitOnBranch(bodies, oid);
}

export interface CommitOnBranchInput {
  expectedHeadOid: string;
  message: { headline: string; body?: string };
  fileChanges: { additions: Array<{ path: string; contents: string }>; deletions: Array<{ path: string }> };
}

/** The files a captured createCommitOnBranch input writes, decoded. */
export function committed(input: unknown): Array<{ path: string; content: string }> {
  return (input as CommitOnBranchInput).fileChanges.additions.map((a) => ({
    path: a.path,
    content: Buffer.from(a.contents, "base64").toString("utf8"),
  }));
}
