// src/github against nock without Probot's event machinery: bulk reads, compare-and-swap ref updates,
// recognising the bot's own commits, and the RepoPort's batching.
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitHubRepoPort, literalPrefix } from "../../src/github/ports.js";
import { RefRaceError } from "../../src/github/errors.js";
import { writeDeployBranch } from "../../src/github/commit.js";
import { WriteJournal } from "../../src/github/journal.js";
import { type FileChange, GitHubRepo } from "../../src/github/repo.js";
import {
  R,
  gitBlobShaOf,
  mockBranches,
  mockCompare,
  mockGraphql,
  mockHistory,
  mockReadTexts,
  mockTree,
} from "./github-mocks.js";
import { INSTALLATION_TOKEN, github, takeRequests } from "./harness.js";

const octokit = new ProbotOctokit({
  auth: { token: INSTALLATION_TOKEN },
  retry: { enabled: false },
  throttle: { enabled: false },
});
// A fresh one per test: it keeps listings by sha, and the fixtures reuse shas with other files.
let repo: GitHubRepo;
const HEAD = "4".repeat(40);
const OLD = "5".repeat(40);

beforeEach(() => {
  nock.disableNetConnect();
  repo = new GitHubRepo(octokit, { owner: "acme", repo: "platform" });
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe("GitHubRepo", () => {
  it("knows its own commits: trailer + App author + GitHub's signature or an App committer", async () => {
    const cases: Array<[string, Record<string, unknown>, boolean]> = [
      [
        "API commit, signed",
        { committer: { name: "GitHub" }, signature: { isValid: true, wasSignedByGitHub: true } },
        true,
      ],
      [
        "API commit on a server that does not sign",
        { committer: { name: "nomad-gitops[bot]" }, signature: null },
        true,
      ],
      ["amended locally, author kept", { committer: { name: "Jane" }, signature: null }, false],
      [
        "signed by someone else",
        { committer: { name: "Jane" }, signature: { isValid: true, wasSignedByGitHub: false } },
        false,
      ],
    ];
    for (const [, fields] of cases) {
      mockGraphql(
        "base: ref(qualifiedName: $base)",
        { owner: "acme", repo: "platform", base: "refs/heads/main", head: "refs/heads/deploy" },
        {
          repository: {
            id: "R_1",
            base: { target: { oid: OLD, tree: { oid: "t".repeat(40) } } },
            head: {
              target: {
                oid: HEAD,
                tree: { oid: "u".repeat(40) },
                message: `Deploy\n\nNomad-Gitops-Build: ${OLD}\n`,
                author: { name: "nomad-gitops[bot]" },
                parents: { nodes: [{ oid: OLD }] },
                ...fields,
              },
            },
          },
        },
      );
    }
    const owned = [];
    for (let i = 0; i < cases.length; i += 1)
      owned.push((await repo.branches("main", "deploy")).head!.ownedByBot);
    expect(owned).toEqual(cases.map((c) => c[2]));
  });

  it("reports a missing PR branch as null", async () => {
    mockBranches({ base: "main", head: "deploy", baseSha: OLD, baseTree: "t".repeat(40), prHead: null });
    const state = await repo.branches("main", "deploy");
    expect(state).toEqual({
      repositoryId: "R_kgDOtest",
      base: { sha: OLD, tree: "t".repeat(40) },
      head: null,
    });
  });

  it("reads 300 files in two GraphQL queries; a missing file is null, a binary one unreadable", async () => {
    const files = Array.from({ length: 300 }, (_, i): [string, string] => [
      `jobs/j${i}.nomad.hcl`,
      `job "j${i}" {}\n`,
    ]);
    mockReadTexts(HEAD, files.slice(0, 250));
    mockReadTexts(HEAD, files.slice(250));
    const texts = await repo.readTexts(
      HEAD,
      files.map(([p]) => p),
    );
    expect(texts.size).toBe(300);
    expect(texts.get("jobs/j299.nomad.hcl")).toBe('job "j299" {}\n');

    mockGraphql(
      "object(expression: $e0)",
      { owner: "acme", repo: "platform", e0: `${HEAD}:gone.hcl`, e1: `${HEAD}:logo.png` },
      { repository: { f0: null, f1: { text: null, isBinary: true, isTruncated: false } } },
    );
    expect(await repo.readTexts(HEAD, ["gone.hcl", "logo.png"])).toEqual(
      new Map<string, unknown>([
        ["gone.hcl", null],
        ["logo.png", { unreadable: "a binary file, not text" }],
      ]),
    );
  });

  it("refuses a truncated tree listing instead of missing files silently", async () => {
    github()
      .get(`${R}/git/trees/${HEAD}`)
      .query({ recursive: "1" })
      .reply(200, { sha: HEAD, truncated: true, tree: [] });
    await expect(repo.listFiles(HEAD)).rejects.toThrow("too large for one listing");
  });

  it("moves a branch only from the head it read (compare-and-swap), else RefRaceError", async () => {
    github()
      .post("/graphql", (body: { variables: Record<string, string> }) => body.variables.before === OLD)
      .reply(200, {
        data: null,
        errors: [
          {
            type: "STALE_DATA",
            message: "Expected refs/heads/deploy to point to 555…, but it points to 666…",
          },
        ],
      });
    const error = await repo.setBranch("R_1", "deploy", HEAD, OLD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefRaceError);
    expect((error as RefRaceError).message).toContain("branch deploy moved while the bot was writing it");
  });
});

describe("GitHubRepo on a server without updateRefs", () => {
  const unknownMutation = {
    data: null,
    errors: [
      {
        message: "Field 'updateRefs' doesn't exist on type 'Mutation'",
        extensions: { code: "undefinedField", typeName: "Mutation", fieldName: "updateRefs" },
      },
    ],
  };

  it("creates a missing branch through REST, and calls an existing one a race", async () => {
    github().post("/graphql").reply(200, unknownMutation);
    github().post(`${R}/git/refs`, { ref: "refs/heads/deploy", sha: HEAD }).reply(201, {});
    await repo.setBranch("R_1", "deploy", HEAD, null);

    github().post("/graphql").reply(200, unknownMutation);
    github()
      .post(`${R}/git/refs`, { ref: "refs/heads/deploy", sha: HEAD })
      .reply(422, { message: "Reference already exists" });
    await expect(repo.setBranch("R_1", "deploy", HEAD, null)).rejects.toBeInstanceOf(RefRaceError);
  });

  it("force-moves the branch only while it still points at the expected commit", async () => {
    github().post("/graphql").reply(200, unknownMutation);
    github()
      .get(`${R}/git/ref/heads%2Fdeploy`)
      .reply(200, { object: { sha: OLD } });
    github().patch(`${R}/git/refs/heads%2Fdeploy`, { sha: HEAD, force: true }).reply(200, {});
    await repo.setBranch("R_1", "deploy", HEAD, OLD);

    github().post("/graphql").reply(200, unknownMutation);
    github()
      .get(`${R}/git/ref/heads%2Fdeploy`)
      .reply(200, { object: { sha: "6".repeat(40) } });
    const error = await repo.setBranch("R_1", "deploy", HEAD, OLD).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`branch deploy is at ${"6".repeat(40)}, expected ${OLD}`);
  });
});

describe("writeDeployBranch compares before it writes", () => {
  const BASE = "1".repeat(40);
  const BASE_TREE = "a".repeat(40);
  const PR_HEAD = "2".repeat(40);
  const PR_TREE = "b".repeat(40);
  const OTHER_BASE = "3".repeat(40);
  const TREE_SHA = "c".repeat(40);
  const COMMIT_SHA = "d".repeat(40);
  const baseFiles = {
    "nomad/apple.nomad.hcl": "apple v1",
    "nomad/banana.nomad.hcl": "banana v1",
    "old.hcl": "x",
  };
  const bananaV2 = 'job "banana" { image = "b@sha256:…" } // ünïcode\n';
  const changes: FileChange[] = [
    { path: "nomad/banana.nomad.hcl", content: bananaV2, mode: "100644" },
    { path: "old.hcl", content: null },
  ];
  /** The base tree's files with `changes` applied: what a commit of this deploy holds. */
  const wantedFiles = { "nomad/apple.nomad.hcl": "apple v1", "nomad/banana.nomad.hcl": bananaV2 };

  /** The state planning read, and the base listing it made (kept by GitHubRepo, not asked again). */
  async function planned(prHead: { parent: string } | null) {
    mockTree(BASE_TREE, baseFiles);
    await repo.listFiles(BASE_TREE);
    takeRequests();
    const state = {
      repositoryId: "R_1",
      base: { sha: BASE, tree: BASE_TREE },
      head: prHead
        ? {
            sha: PR_HEAD,
            tree: PR_TREE,
            parents: [prHead.parent],
            build: BASE,
            ownedByBot: true,
            addsNothing: false,
          }
        : null,
    };
    return state;
  }

  function mockWrite(before: string | null) {
    github().post(`${R}/git/trees`).reply(201, { sha: TREE_SHA });
    github()
      .post(`${R}/git/commits`, { message: "Deploy banana", tree: TREE_SHA, parents: [BASE] })
      .reply(201, { sha: COMMIT_SHA });
    mockGraphql(
      "updateRefs(",
      { repositoryId: "R_1", name: "refs/heads/deploy", before: before ?? "0".repeat(40), after: COMMIT_SHA },
      { updateRefs: { clientMutationId: null } },
    );
  }
  const WRITES = [`POST ${R}/git/trees`, `POST ${R}/git/commits`, "POST /graphql"];
  const HEAD_LISTING = `GET ${R}/git/trees/${PR_TREE}?recursive=1`;

  it("[fault:app-rerun-same-content] the PR branch already holds exactly these files on this base: one listing read, nothing created", async () => {
    const state = await planned({ parent: BASE });
    // Git's own blob sha for what the bot writes: the head was made by an earlier, identical run.
    mockTree(PR_TREE, wantedFiles, {}, { "nomad/banana.nomad.hcl": await gitBlobShaOf(bananaV2) });
    const written = await writeDeployBranch(
      repo,
      state,
      {
        branch: "deploy",
        changes,
        message: "Deploy banana",
      },
      new WriteJournal(),
    );
    expect(written).toBeNull();
    expect(takeRequests()).toEqual([HEAD_LISTING]);
  });

  it.each<
    [string, (sha: string) => [Record<string, string>, Record<string, string>, Record<string, string>]]
  >([
    ["a changed file's text differs", () => [wantedFiles, {}, { "nomad/banana.nomad.hcl": "e".repeat(40) }]],
    [
      "a file the deploy deletes is still there",
      (sha) => [{ ...wantedFiles, "old.hcl": "x" }, {}, { "nomad/banana.nomad.hcl": sha }],
    ],
    [
      "an extra file is there",
      (sha) => [{ ...wantedFiles, "extra.hcl": "" }, {}, { "nomad/banana.nomad.hcl": sha }],
    ],
    [
      "a file's mode differs",
      (sha) => [wantedFiles, { "nomad/banana.nomad.hcl": "100755" }, { "nomad/banana.nomad.hcl": sha }],
    ],
  ])("same base, but %s: the listing is read, then tree, commit and ref are written", async (_, head) => {
    const state = await planned({ parent: BASE });
    const [files, modes, shas] = head(await gitBlobShaOf(bananaV2));
    mockTree(PR_TREE, files, modes, shas);
    mockWrite(PR_HEAD);
    const written = await writeDeployBranch(
      repo,
      state,
      {
        branch: "deploy",
        changes,
        message: "Deploy banana",
      },
      new WriteJournal(),
    );
    expect(written).toMatchObject({ branch: "deploy", commit: COMMIT_SHA });
    expect(takeRequests()).toEqual([HEAD_LISTING, ...WRITES]);
  });

  it.each([
    ["the PR branch is based on an older deploy head", { parent: OTHER_BASE }, PR_HEAD, changes],
    [
      "there is no PR branch yet, and a file is executable (createCommitOnBranch cannot set a mode)",
      null,
      null,
      [{ ...changes[0]!, mode: "100755" }, changes[1]!],
    ],
  ])(
    "%s: nothing to compare, so no listing; tree, commit and ref are written",
    async (_, prHead, before, changes) => {
      const state = await planned(prHead);
      mockWrite(before);
      const written = await writeDeployBranch(
        repo,
        state,
        {
          branch: "deploy",
          changes,
          message: "Deploy banana",
        },
        new WriteJournal(),
      );
      expect(written).toMatchObject({ branch: "deploy", commit: COMMIT_SHA });
      expect(takeRequests()).toEqual(WRITES);
    },
  );
});

describe("writeDeployBranch on a branch that does not exist yet", () => {
  const BASE = "1".repeat(40);
  const BASE_TREE = "a".repeat(40);
  const COMMIT_SHA = "d".repeat(40);
  const state = { repositoryId: "R_1", base: { sha: BASE, tree: BASE_TREE }, head: null };
  const bananaV2 = 'job "banana" { image = "b@sha256:…" } // ünïcode\n';
  const changes: FileChange[] = [
    { path: "nomad/banana.nomad.hcl", content: bananaV2, mode: "100644" },
    { path: "old.hcl", content: null },
  ];
  const message = "Deploy banana\n\nNomad-Gitops-Build: " + "9".repeat(40) + "\n";
  const mutation = {
    input: {
      branch: { repositoryNameWithOwner: "acme/platform", branchName: "deploy" },
      expectedHeadOid: BASE,
      message: { headline: "Deploy banana", body: "Nomad-Gitops-Build: " + "9".repeat(40) + "\n" },
      fileChanges: {
        additions: [{ path: "nomad/banana.nomad.hcl", contents: Buffer.from(bananaV2).toString("base64") }],
        deletions: [{ path: "old.hcl" }],
      },
    },
  };

  it("creates it at the deploy branch head, then commits on it with createCommitOnBranch: two writes", async () => {
    github().post(`${R}/git/refs`, { ref: "refs/heads/deploy", sha: BASE }).reply(201, {});
    mockGraphql("createCommitOnBranch(", mutation, { createCommitOnBranch: { commit: { oid: COMMIT_SHA } } });
    const journal = new WriteJournal();
    const written = await writeDeployBranch(repo, state, { branch: "deploy", changes, message }, journal);
    expect(written).toEqual({ branch: "deploy", previous: null, commit: COMMIT_SHA });
    expect(takeRequests()).toEqual([`POST ${R}/git/refs`, "POST /graphql"]);
    expect(journal.entries.map((e) => `${e.label}: ${e.state}`)).toEqual([
      "branch `deploy` created at the deploy branch head `1111111`: written",
      "commit `ddddddd` on branch `deploy`: written",
    ]);
  });

  it("[fault:app-commit-on-branch-stale] the branch moved before the commit: a race (plan again), and the branch is left to whoever moved it", async () => {
    github().post(`${R}/git/refs`, { ref: "refs/heads/deploy", sha: BASE }).reply(201, {});
    // GitHub's answer to a stale expectedHeadOid: no data, a STALE_DATA error.
    github()
      .post(
        "/graphql",
        (b: { variables: unknown }) => JSON.stringify(b.variables) === JSON.stringify(mutation),
      )
      .reply(200, {
        data: null,
        errors: [
          {
            type: "STALE_DATA",
            message: `Expected branch to point to "${BASE}" but it did not. Pull and try again.`,
          },
        ],
      });
    github()
      .get(`${R}/git/ref/heads%2Fdeploy`)
      .reply(200, { object: { sha: "6".repeat(40) } });
    const journal = new WriteJournal();
    const error = await writeDeployBranch(repo, state, { branch: "deploy", changes, message }, journal).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RefRaceError);
    // Not deleted: it is at someone else's commit now.
    expect(journal.entries.at(-1)).toMatchObject({
      label: "branch `deploy` deleted again",
      state: "revert-failed",
      detail: "it moved on since",
    });
  });

  it("on a server without createCommitOnBranch: the same commit through tree, commit and ref from the created branch", async () => {
    github().post(`${R}/git/refs`, { ref: "refs/heads/deploy", sha: BASE }).reply(201, {});
    github()
      .post("/graphql", (b: { query: string }) => b.query.includes("createCommitOnBranch("))
      .reply(200, {
        data: null,
        errors: [
          {
            message: "Field 'createCommitOnBranch' doesn't exist on type 'Mutation'",
            extensions: { code: "undefinedField", typeName: "Mutation", fieldName: "createCommitOnBranch" },
          },
        ],
      });
    github()
      .post(`${R}/git/trees`)
      .reply(201, { sha: "c".repeat(40) });
    github()
      .post(`${R}/git/commits`, { message, tree: "c".repeat(40), parents: [BASE] })
      .reply(201, { sha: COMMIT_SHA });
    mockGraphql(
      "updateRefs(",
      { repositoryId: "R_1", name: "refs/heads/deploy", before: BASE, after: COMMIT_SHA },
      { updateRefs: { clientMutationId: null } },
    );
    const written = await writeDeployBranch(
      repo,
      state,
      { branch: "deploy", changes, message },
      new WriteJournal(),
    );
    expect(written).toEqual({ branch: "deploy", previous: null, commit: COMMIT_SHA });
  });
});

describe("GitHubRepoPort", () => {
  it("[fault:app-symlink-job-file] never reads a symbolic link as a file and refuses to write over one", async () => {
    const port = new GitHubRepoPort(repo, OLD, "t".repeat(40));
    mockTree(
      "t".repeat(40),
      { "nomad/a.nomad.hcl": "job", "nomad/link.nomad.hcl": "/etc/shadow" },
      {
        "nomad/link.nomad.hcl": "120000",
      },
    );
    mockReadTexts(OLD, [["nomad/a.nomad.hcl", "job"]]);
    const texts = await port.readFiles(["nomad/a.nomad.hcl", "nomad/link.nomad.hcl"]);
    expect(Object.fromEntries(texts)).toEqual({
      "nomad/a.nomad.hcl": "job",
      "nomad/link.nomad.hcl": {
        unreadable:
          "a symbolic link (git mode 120000): the bot reads and writes regular files only, so it is left as it is",
      },
    });
    expect(await port.modeOf("nomad/a.nomad.hcl")).toBe("100644");
    await expect(port.modeOf("nomad/link.nomad.hcl")).rejects.toThrow(
      /^nomad\/link\.nomad\.hcl: a symbolic link/,
    );
  });

  it("lists files by glob from one tree request and reads only files that exist", async () => {
    mockTree("t".repeat(40), { "a/x.nomad.hcl": "x", "b/y.nomad": "y", "README.md": "r" });
    mockReadTexts(OLD, [["a/x.nomad.hcl", "x"]]);
    const port = new GitHubRepoPort(repo, OLD, "t".repeat(40));
    expect(await port.listFiles(["**/*.nomad", "**/*.nomad.hcl"])).toEqual(["a/x.nomad.hcl", "b/y.nomad"]);
    expect(await port.readFiles(["a/x.nomad.hcl", "RELEASES.md"])).toEqual(new Map([["a/x.nomad.hcl", "x"]]));
  });

  it("reports a binary or truncated blob as unreadable, for that file alone", async () => {
    mockTree("t".repeat(40), { "a.nomad": "", "b.nomad": "", "c.nomad": "" });
    mockReadTexts(OLD, [
      ["a.nomad", { blob: { text: null, isBinary: true, isTruncated: false } }],
      ["b.nomad", { blob: { text: "job", isBinary: false, isTruncated: true } }],
      ["c.nomad", "job {}"],
    ]);
    const port = new GitHubRepoPort(repo, OLD, "t".repeat(40));
    expect(await port.readFiles(["a.nomad", "b.nomad", "c.nomad"])).toEqual(
      new Map<string, unknown>([
        ["a.nomad", { unreadable: "a binary file, not text" }],
        ["b.nomad", { unreadable: "too large to read through the API" }],
        ["c.nomad", "job {}"],
      ]),
    );
  });

  it("answers ancestry and release-note ranges from one cached compare, and batches history queries", async () => {
    const c1 = { sha: "c1".repeat(20), message: "banana: fix", date: "2026-11-01T00:00:00Z" };
    const c2 = { sha: "c2".repeat(20), message: "apple: feature", date: "2026-11-02T00:00:00Z" };
    const c3 = { sha: "c3".repeat(20), message: "docs", date: "2026-11-03T00:00:00Z" };
    mockCompare(OLD, HEAD, {
      status: "ahead",
      commits: [c1, c2, c3],
      files: ["services/banana/a.go", "services/apple/b.go", "README.md"],
    });
    mockHistory(HEAD, ["services/banana", "services/apple"], c1.date, [
      [c1],
      [c2, { ...c1, sha: "ff".repeat(20) }],
    ]);
    const port = new GitHubRepoPort(repo, HEAD, "t".repeat(40));
    expect(await port.compare(OLD, HEAD)).toBe("ahead");
    const [banana, apple, cherry, docs] = await Promise.all([
      port.commitsTouching(OLD, HEAD, ["services/banana/**"]),
      port.commitsTouching(OLD, HEAD, ["services/apple/**"]),
      port.commitsTouching(OLD, HEAD, ["services/cherry/**"]),
      port.commitsTouching(OLD, HEAD, ["**/*.md"]),
    ]);
    expect(banana.map((c) => c.subject)).toEqual(["banana: fix"]);
    // A commit outside the compare range (older than the deployed build) is not listed.
    expect(apple.map((c) => c.subject)).toEqual(["apple: feature"]);
    expect(cherry).toEqual([]);
    // No literal prefix: every commit of the range, newest first.
    expect(docs.map((c) => c.subject)).toEqual(["docs", "apple: feature", "banana: fix"]);
  });

  it("takes the literal directory prefix of a glob", () => {
    expect(literalPrefix("services/banana/**")).toBe("services/banana");
    expect(literalPrefix("./protos/*.proto")).toBe("protos");
    expect(literalPrefix("services/banana")).toBe("services/banana");
    expect(literalPrefix("**/*.go")).toBe("");
    expect(literalPrefix("svc-{a,b}/x")).toBe("");
  });
});
