// workflow_run completed → one deploy, against the real local registry (real digests) with GitHub's API
// replaced by nock: exact request bodies, nothing left pending.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BUILD_COMMIT_DATE, checkRunRerequested, workflowRunEvent } from "../fixtures/github/payloads.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  GRAPHQL,
  PUSH_KEY,
  R,
  buildKey,
  capture,
  type CommitOnBranchInput,
  committed,
  mockCheckCreate,
  mockCheckList,
  mockConfig,
  mockCheckUpdate,
  mockComments,
  mockCommitDate,
  mockCompare,
  mockFindPr,
  mockBranches,
  mockGraphql,
  mockHistory,
  mockReadTexts,
  mockTree,
  gitBlobShaOf,
  mockInvalidConfigCheck,
} from "./github-mocks.js";
import {
  type TestProbot,
  github,
  mockInstallationToken,
  takeRequests,
  startTestApp,
  expectGitHubDone,
} from "./harness.js";
import {
  C1,
  C2,
  CHECK_ID,
  MAIN_TREE,
  NEW_COMMIT,
  NEW_TREE,
  S1,
  S2,
  S3,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  normalize,
  pushImages,
  mockBananaMoveReads,
  mockNewBranchWrites,
} from "./scenario.js";

const SERVICES = ["apple", "banana", "cherry"];
let registry: TestRegistry;
let host: string;
let digests: Record<string, string>;
let t: TestProbot;
/** Bodies written by the first test, which the redelivery test expects GitHub to hold. */
let firstRun: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  registry = await startRegistry();
  host = registry.host;
  digests = await pushImages(registry, [
    ["apple", S1, image("apple", 1)],
    ["apple", S2, image("apple", 1)],
    ["banana", S1, image("banana", 1)],
    ["banana", S2, image("banana", 2)],
    ["cherry", S1, image("cherry", 1)],
    ["cherry", S2, image("cherry", 1)],
  ]);
});
afterAll(async () => {
  await registry?.stop();
});

beforeEach(async () => {
  t = await startTestApp({ registry: host });
});
afterEach(() => expectGitHubDone(t));

/** Job files pinning every service at build S1; RELEASES.md exists. */
function repoFiles(pins: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = { "RELEASES.md": "# Releases\n" };
  for (const s of SERVICES)
    files[`nomad/${s}.nomad.hcl`] = jobFile(host, s, pins[s] ?? `${S1}@${digests[`${s}:${S1}`]}`);
  return files;
}

const event = (conclusion: "success" | "failure" = "success", sha = S2) =>
  workflowRunEvent({ headSha: sha, conclusion, branch: "main" });

/**
 * The listing of NEW_TREE: the base's files with the texts of a captured commit, by git's own blob shas,
 * as GitHub lists a tree that an earlier run of this deploy wrote.
 */
async function mockWrittenTree(posted: unknown): Promise<void> {
  const written = committed(posted);
  const files = repoFiles();
  const shas: Record<string, string> = {};
  for (const { path, content } of written) {
    files[path] = content;
    shas[path] = await gitBlobShaOf(content);
  }
  mockTree(NEW_TREE, files, {}, shas);
}

/**
 * The first test's deploy run again with its PR branch, PR and comment in place: the branch's files are
 * compared with what the deploy writes (equal), so no tree, commit, ref, PR or comment is written again.
 * `writes` are the REST writes expected (check runs only); a GraphQL mutation (updateRefs) has no
 * interceptor here, so one would fail the run.
 */
async function runAgainOnWrittenBranch(
  check: "resume" | "rerun",
  received: Parameters<TestProbot["probot"]["receive"]>[0],
  writes: string[],
): Promise<void> {
  const [, commit, pr, comment] = firstRun as [
    unknown,
    Record<string, unknown>,
    { title: string; body: string },
    { body: string },
  ];
  mockInstallationToken();
  mockPlanningReads({
    config: configText(host, SERVICES),
    files: repoFiles(),
    prHead: { sha: NEW_COMMIT, tree: NEW_TREE, parent: S2, build: S2, bot: true },
    check,
  });
  mockCompare(S2, S2, { status: "identical" }); // the PR's base vs the build: not older
  mockBananaMoveReads({
    number: 12,
    title: pr.title,
    body: pr.body,
    labels: ["deploy"],
    headSha: NEW_COMMIT,
  });
  await mockWrittenTree(commit);
  mockComments(12, [
    { id: 400, body: "LGTM <!-- nomad-gitops:images -->", bot: false },
    { id: 501, body: comment.body, bot: true },
  ]);
  mockCheckUpdate(CHECK_ID, {
    status: "completed",
    conclusion: "success",
    output: (firstRun[4] as { output: unknown }).output,
  });
  await t.probot.receive(received);
  const requests = takeRequests();
  expect(requests).toContain(`GET ${R}/git/trees/${NEW_TREE}?recursive=1`);
  expect(requests.filter((r) => !r.startsWith("GET") && r !== `POST ${GRAPHQL}`)).toEqual(writes);
}

describe("workflow_run completed", () => {
  it("one of three services changed: one commit on the deploy branch, PR, label, sticky comment, check", async () => {
    mockInstallationToken();
    mockPlanningReads({ config: configText(host, SERVICES), files: repoFiles() });
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    registry.clearRequests();

    await t.probot.receive(event());
    firstRun = structuredClone(bodies) as Array<Record<string, unknown>>;

    const [ref, commit, pr, comment, check] = normalize(bodies, host) as Array<Record<string, unknown>>;
    // The branch is created at the deploy branch head, then the commit is made on it (contents base64).
    expect(ref).toEqual({ ref: "refs/heads/nomad-gitops/deploy", sha: S2 });
    expect(normalize(committed(bodies[1]), host)).toMatchInlineSnapshot(`
      [
        {
          "content": "job "banana" {
        group "app" {
          task "server" {
            driver = "docker"
            config {
              image = "REGISTRY/acme/banana@sha256:09528fbbc77fce8816d4871b9ac1c5ff14bd988cb0cf36f522b0344c2ce91928"
            }
          }
        }
      }
      ",
          "path": "nomad/banana.nomad.hcl",
        },
        {
          "content": "# Releases

      <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-11-25 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      ### banana

      \`REGISTRY/acme/banana\`: \`921d74d76d15\` → \`09528fbbc77f\` (tag \`2222222222222222222222222222222222222222\`)

      - [\`a1a1a1a\`](https://github.com/acme/platform/commit/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1) banana: faster peeling (dev)
      ",
          "path": "RELEASES.md",
        },
      ]
    `);
    const { fileChanges, ...made } = commit as unknown as CommitOnBranchInput & Record<string, unknown>;
    expect(fileChanges.deletions).toEqual([]);
    expect(made).toMatchInlineSnapshot(`
      {
        "branch": {
          "branchName": "nomad-gitops/deploy",
          "repositoryNameWithOwner": "acme/platform",
        },
        "expectedHeadOid": "2222222222222222222222222222222222222222",
        "message": {
          "body": "- banana: 921d74d76d15 → 09528fbbc77f (nomad/banana.nomad.hcl)

      Nomad-Gitops-Build: 2222222222222222222222222222222222222222
      ",
          "headline": "Deploy banana",
        },
      }
    `);
    expect(pr).toMatchInlineSnapshot(`
      {
        "base": "main",
        "body": "Pins 1 image built from [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) on \`main\`: only the services whose digest moved.

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | \`921d74d76d15\` → \`09528fbbc77f\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | 1 |

      <details><summary>2 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | apple | \`4ece9cd48882\` | \`nomad/apple.nomad.hcl\` |
      | cherry | \`1ed85bfaf06a\` | \`nomad/cherry.nomad.hcl\` |

      </details>

      ## 2026-11-25 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      ### banana

      \`REGISTRY/acme/banana\`: \`921d74d76d15\` → \`09528fbbc77f\` (tag \`2222222222222222222222222222222222222222\`)

      - [\`a1a1a1a\`](https://github.com/acme/platform/commit/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1) banana: faster peeling (dev)

      ---
      _Written by nomad-gitops-bot._ <!-- nomad-gitops:build 2222222222222222222222222222222222222222 -->
      ",
        "head": "nomad-gitops/deploy",
        "maintainer_can_modify": false,
        "title": "Deploy banana",
      }
    `);
    expect(comment).toMatchInlineSnapshot(`
      {
        "body": "<!-- nomad-gitops:images -->
      ### 1 image changed for [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | \`921d74d76d15\` → \`09528fbbc77f\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | 1 |

      <details><summary>2 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | apple | \`4ece9cd48882\` | \`nomad/apple.nomad.hcl\` |
      | cherry | \`1ed85bfaf06a\` | \`nomad/cherry.nomad.hcl\` |

      </details>
      ",
      }
    `);
    expect(check).toMatchInlineSnapshot(`
      {
        "conclusion": "success",
        "external_id": "nomad-gitops:build:9001:1",
        "output": {
          "summary": "Build \`2222222\` on \`main\`, tag \`2222222222222222222222222222222222222222\`.

      | service | status | digest | note |
      |---|---|---|---|
      | apple | unchanged | \`4ece9cd48882\` |  |
      | banana | moved | \`921d74d76d15\` → \`09528fbbc77f\` |  |
      | cherry | unchanged | \`1ed85bfaf06a\` |  |

      Deploy PR: #12 (1 image).
      ",
          "title": "1 moved, 2 unchanged",
        },
        "status": "completed",
      }
    `);
    // Real registry: 1 HEAD per service for the new tag, and for the two unchanged the retag found {sha}
    // present; the moved one is proven by one GET of its tag and compared with its pin (one GET by digest).
    expect(
      registry
        .requests()
        .map((r) => `${r.method} ${r.path.replace(/sha256:[0-9a-f]+/, "<digest>")} ${r.status}`)
        .sort(),
    ).toMatchInlineSnapshot(`
      [
        "GET /v2/acme/banana/manifests/2222222222222222222222222222222222222222 200",
        "GET /v2/acme/banana/manifests/<digest> 200",
        "HEAD /v2/acme/apple/manifests/2222222222222222222222222222222222222222 200",
        "HEAD /v2/acme/banana/manifests/2222222222222222222222222222222222222222 200",
        "HEAD /v2/acme/cherry/manifests/2222222222222222222222222222222222222222 200",
      ]
    `);
  });

  it("[fault:app-redelivered-workflow-run] redelivery of the same event: its check run is completed, so nothing is planned, read further or written", async () => {
    expect(firstRun).toHaveLength(5);
    const check = firstRun[4] as { conclusion: string; output: { title: string; summary: string } };
    mockInstallationToken();
    mockConfig(configText(host, SERVICES), S2);
    mockCheckList(S2, [
      {
        id: CHECK_ID,
        status: "completed",
        conclusion: check.conclusion,
        external_id: buildKey(1),
        output: check.output,
      },
    ]);
    registry.clearRequests();
    takeRequests();
    await t.probot.receive(event());
    expect(takeRequests().filter((r) => !r.startsWith("GET "))).toEqual([]);
    expect(registry.requests()).toEqual([]);
  });

  it("a crash after the commit, before the check run completed: the retry resumes its run and writes only what is missing", async () => {
    await runAgainOnWrittenBranch("resume", event(), [`PATCH ${R}/check-runs/${CHECK_ID}`]);
  });

  it("[fault:app-rerun-same-content] a Checks-tab re-run of a deploy whose PR is in place writes only its own check run", async () => {
    mockCommitDate(S2, BUILD_COMMIT_DATE);
    await runAgainOnWrittenBranch("rerun", checkRunRerequested({ headSha: S2, branch: "main" }), [
      `POST ${R}/check-runs`,
      `PATCH ${R}/check-runs/${CHECK_ID}`,
    ]);
  });

  it("nothing moved: no branch, no PR, no comment; the open deploy PR is closed with a comment", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles({ banana: `${S1}@${digests[`banana:${S2}`]}` }),
      prHead: { sha: NEW_COMMIT, tree: NEW_TREE, parent: S2, build: S2, bot: true },
    });
    mockCompare(S2, S2, { status: "identical" });
    mockFindPr("nomad-gitops/deploy", "main", {
      number: 12,
      title: "Deploy banana",
      body: "…",
      labels: ["deploy"],
      headSha: NEW_COMMIT,
    });
    github()
      .post(`${R}/issues/12/comments`, {
        body: "No image moved compared with `main` at 2222222 (build 2222222): this deploy PR is no longer needed.",
      })
      .reply(201, { id: 9 });
    github().patch(`${R}/pulls/12`, { state: "closed" }).reply(200, { number: 12 });
    github().delete(`${R}/git/refs/heads%2Fnomad-gitops%2Fdeploy`).reply(204);
    const bodies: unknown[] = [];
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    await t.probot.receive(event());
    expect(normalize(bodies[0], host)).toMatchInlineSnapshot(`
      {
        "conclusion": "success",
        "external_id": "nomad-gitops:build:9001:1",
        "output": {
          "summary": "Build \`2222222\` on \`main\`, tag \`2222222222222222222222222222222222222222\`.

      | service | status | digest | note |
      |---|---|---|---|
      | apple | unchanged | \`4ece9cd48882\` |  |
      | banana | unchanged | \`09528fbbc77f\` |  |
      | cherry | unchanged | \`1ed85bfaf06a\` |  |

      Closed #12: nothing left to deploy.
      ",
          "title": "3 unchanged",
        },
        "status": "completed",
      }
    `);
  });

  it("nothing moved and no PR open: only the check run (created when the push left none)", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles({ banana: `${S1}@${digests[`banana:${S2}`]}` }),
      check: "none",
    });
    mockFindPr("nomad-gitops/deploy", "main", null);
    mockCheckUpdate(
      CHECK_ID,
      (b: { conclusion: string; output: { title: string } }) =>
        b.conclusion === "success" && b.output.title === "3 unchanged",
    );
    await t.probot.receive(event());
  });

  it("first run, nothing pinned yet: every service is new and gets pinned", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles({ apple: "latest", banana: "latest", cherry: "1.0" }),
      ancestry: null, // no pin records a commit: no ancestry to ask about
    });
    mockReadTexts(S2, [["RELEASES.md", "# Releases\n"]]);
    mockFindPr("nomad-gitops/deploy", "main", null);
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    await t.probot.receive(event());
    const [, , pr, , check] = normalize(bodies, host) as [
      unknown,
      unknown,
      { title: string },
      unknown,
      { output: { title: string } },
    ];
    const entries = normalize(committed(bodies[1]), host) as Array<{ path: string; content: string }>;
    expect(entries.map((e) => e.path)).toEqual([
      "nomad/apple.nomad.hcl",
      "nomad/banana.nomad.hcl",
      "nomad/cherry.nomad.hcl",
      "RELEASES.md",
    ]);
    expect(entries[2]!.content).toContain(`image = "REGISTRY/acme/cherry@${digests[`cherry:${S2}`]}"`);
    expect(pr.title).toBe("Deploy apple, banana, cherry");
    expect(check.output.title).toBe("3 new, 0 unchanged");
  });

  it("a failed build turns the check red and touches nothing else", async () => {
    mockInstallationToken();
    mockConfig(configText(host, SERVICES), S2);
    mockCheckList(S2, [{ id: CHECK_ID, status: "queued", external_id: PUSH_KEY }]);
    mockCheckUpdate(CHECK_ID, {
      status: "completed",
      conclusion: "failure",
      external_id: buildKey(1),
      output: {
        title: "Build failure",
        summary:
          "The build [images.yml #" +
          String(
            (event("failure").payload as { workflow_run: { run_number: number } }).workflow_run.run_number,
          ) +
          "](https://github.com/acme/platform/actions/runs/9001) ended `failure`: nothing was planned or changed.",
      },
    });
    registry.clearRequests();
    await t.probot.receive(event("failure"));
    expect(registry.requests()).toEqual([]);
  });

  it("[fault:app-completed-check-reused] a failed attempt re-run successfully gets a new check run that ends green; the failed one is never reused", async () => {
    mockInstallationToken();
    // Attempt 1 failed: the push's run took it and completed red.
    const failed = {
      id: CHECK_ID,
      status: "completed",
      conclusion: "failure",
      external_id: buildKey(1),
      output: { title: "Build failure", summary: "…" },
    };
    // Attempt 2 of the same run succeeded: a new run for it, never a PATCH of the completed one.
    mockConfig(configText(host, SERVICES), S2);
    mockCheckList(S2, [failed]);
    mockCheckCreate(
      { name: "nomad-gitops", head_sha: S2, status: "in_progress", external_id: buildKey(2) },
      78,
    );
    mockBranches({
      base: "main",
      head: "nomad-gitops/deploy",
      baseSha: S2,
      baseTree: MAIN_TREE,
      prHead: null,
    });
    mockTree(MAIN_TREE, repoFiles({ banana: `${S1}@${digests[`banana:${S2}`]}` }));
    mockReadTexts(
      S2,
      SERVICES.map((s) => [
        `nomad/${s}.nomad.hcl`,
        repoFiles({ banana: `${S1}@${digests[`banana:${S2}`]}` })[`nomad/${s}.nomad.hcl`]!,
      ]),
    );
    mockCompare(S1, S2, {
      status: "ahead",
      commits: [C1, C2],
      files: ["services/banana/main.go", "README.md"],
    });
    mockFindPr("nomad-gitops/deploy", "main", null);
    mockCheckUpdate(
      78,
      (b: { status: string; conclusion: string }) => b.status === "completed" && b.conclusion === "success",
    );
    await t.probot.receive(
      workflowRunEvent({ headSha: S2, conclusion: "success", branch: "main", attempt: 2 }),
    );
    // Attempt 1's failure redelivered late: attempt 2 has its run, so nothing is written (the commit stays green).
    mockConfig(configText(host, SERVICES), S2);
    mockCheckList(S2, [
      failed,
      { id: 78, status: "completed", conclusion: "success", external_id: buildKey(2) },
    ]);
    takeRequests();
    await t.probot.receive(event("failure"));
    expect(takeRequests().filter((r) => !r.startsWith("GET "))).toEqual([]);
  });

  it("ignores other workflows and non-deploy branches", async () => {
    mockInstallationToken();
    mockConfig(configText(host, SERVICES), S2);
    mockConfig(configText(host, SERVICES), S2);
    await t.probot.receive(
      workflowRunEvent({ headSha: S2, conclusion: "success", workflowPath: ".github/workflows/lint.yml" }),
    );
    await t.probot.receive(workflowRunEvent({ headSha: S2, conclusion: "success", branch: "feature" }));
  });

  it("out-of-order build: older than the commit the PR is based on, so reported and nothing downgraded", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles(),
      prHead: { sha: NEW_COMMIT, tree: NEW_TREE, parent: S3, build: S3, bot: true },
    });
    mockCompare(S3, S2, { status: "behind" });
    const bodies: unknown[] = [];
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    registry.clearRequests();
    await t.probot.receive(event());
    const check = normalize(bodies[0], host) as {
      conclusion: string;
      output: { title: string; summary: string };
    };
    expect(check.conclusion).toBe("neutral");
    expect(check.output.title).toBe("Skipped: an older build");
    expect(check.output.summary).toContain("build 2222222 is older than 3333333: skipped, nothing changes");
    // Digests were looked up (and the moved one proven by a GET) for the report, but nothing was retagged.
    expect(registry.requests().filter((r) => r.method !== "HEAD" && r.method !== "GET")).toEqual([]);
    expect(registry.requests().some((r) => r.method === "HEAD")).toBe(true);
  });

  it("a human pushed to the deploy branch: no force-push, the sticky comment says what would change", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles(),
      prHead: { sha: "9".repeat(40), tree: "8".repeat(40), parent: NEW_COMMIT, build: null, bot: false },
    });
    mockBananaMoveReads({
      number: 12,
      title: "Deploy banana",
      body: "…",
      labels: ["deploy"],
      headSha: "9".repeat(40),
    });
    mockComments(12, []);
    const bodies: unknown[] = [];
    capture("post", `${R}/issues/12/comments`, bodies, { status: 201, body: { id: 502 } });
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    await t.probot.receive(event());
    const [comment, check] = normalize(bodies, host) as [
      { body: string },
      { conclusion: string; output: { title: string } },
    ];
    expect(comment.body).toMatchInlineSnapshot(`
      "> [!WARNING]
      > \`nomad-gitops/deploy\` has commits nomad-gitops did not make, so it was **not** updated. This is what the build of 2222222 would change:

      <!-- nomad-gitops:images -->
      ### 1 image changed for [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | \`921d74d76d15\` → \`09528fbbc77f\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | 1 |

      <details><summary>2 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | apple | \`4ece9cd48882\` | \`nomad/apple.nomad.hcl\` |
      | cherry | \`1ed85bfaf06a\` | \`nomad/cherry.nomad.hcl\` |

      </details>

      Files it would rewrite: \`nomad/banana.nomad.hcl\`, \`RELEASES.md\`

      Delete the branch, or merge the PR (merging deletes it), to let the bot take it over again."
    `);
    expect(check.conclusion).toBe("neutral");
    expect(check.output.title).toBe("Not written: nomad-gitops/deploy was changed by someone else");
  });

  it("an unparsable job file is skipped with its line; the other services still deploy", async () => {
    const files = { ...repoFiles(), "nomad/broken.nomad.hcl": 'job "broken" {\n  group "g" {\n' };
    mockInstallationToken();
    mockPlanningReads({ config: configText(host, SERVICES), files });
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    await t.probot.receive(event());
    const [, , , , check] = normalize(bodies, host) as [
      unknown,
      unknown,
      unknown,
      unknown,
      { conclusion: string; output: { title: string; summary: string } },
    ];
    expect(committed(bodies[1]).map((e) => e.path)).toEqual(["nomad/banana.nomad.hcl", "RELEASES.md"]);
    // The wording is the core's; what matters here: the run goes on and the check says a file was skipped.
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^1 moved, 2 unchanged, 1 /);
    expect(check.output.summary).toMatch(/`nomad\/broken\.nomad\.hcl:\d+` skipped: /);
  });

  it("[fault:app-symlink-job-file] a job file that is a symbolic link is neither read nor replaced; it is reported and the others deploy", async () => {
    // Its blob is the link's target: were it read, /etc/shadow's path (or worse) would reach the PR.
    const files = { ...repoFiles(), "nomad/zz-link.nomad.hcl": "../../../etc/shadow" };
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files,
      modes: { "nomad/zz-link.nomad.hcl": "120000" },
      jobFiles: SERVICES.map((s) => `nomad/${s}.nomad.hcl`),
    });
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    await t.probot.receive(event());
    const [, , pr, , check] = normalize(bodies, host) as [
      unknown,
      unknown,
      { body: string },
      unknown,
      { output: { summary: string } },
    ];
    // Regular files only: the mutation keeps an existing file's mode (and could not write a link).
    expect(committed(bodies[1]).map((e) => e.path)).toEqual(["nomad/banana.nomad.hcl", "RELEASES.md"]);
    expect(check.output.summary).toContain(
      "`nomad/zz-link.nomad.hcl` skipped: a symbolic link (git mode 120000)",
    );
    expect(JSON.stringify(bodies)).not.toContain("etc/shadow");
    expect(pr.body).toContain("nomad/zz-link.nomad.hcl");
  });

  it("registry down for one service: it is an error, the others proceed, and the open PR is not closed", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles({ banana: `${S1}@${digests[`banana:${S2}`]}` }),
    });
    mockFindPr("nomad-gitops/deploy", "main", {
      number: 12,
      title: "Deploy banana",
      body: "…",
      labels: ["deploy"],
      headSha: NEW_COMMIT,
    });
    const bodies: unknown[] = [];
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    registry.intercept({
      request: (req) =>
        req.path.startsWith("/v2/acme/banana/") ? { status: 503, body: "down for maintenance" } : undefined,
    });
    try {
      await t.probot.receive(event());
    } finally {
      registry.intercept(null);
    }
    const check = normalize(bodies[0], host) as {
      conclusion: string;
      output: { title: string; summary: string };
    };
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toBe("2 unchanged, 1 error");
    expect(check.output.summary).toMatch(/\| banana \| error \| .*503/);
  });

  it("GitHub answers 500 once: Probot's retry plugin repeats the request and the deploy completes", async () => {
    t = await startTestApp({ registry: host, retry: true });
    mockInstallationToken();
    mockPlanningReads({ config: configText(host, SERVICES), files: repoFiles() });
    mockBananaMoveReads();
    github().post(`${R}/git/refs`).reply(500, { message: "Server Error" });
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    await t.probot.receive(event());
    expect(normalize(bodies, host)).toEqual(normalize(firstRun, host));
  });

  it("an invalid config fails the check run of the build and nothing else happens", async () => {
    mockInstallationToken();
    mockConfig("build: { workflow: images.yml }\nretag: ['{commit}']\n", S2);
    mockCheckList(S2, []);
    mockInvalidConfigCheck(
      S2,
      "retag.0: may only use the placeholders {sha}, {short_sha}, {branch}",
      "registry: set `registry` (the image prefix for zero-config discovery) or list `services`",
    );
    registry.clearRequests();
    await t.probot.receive(event());
    expect(registry.requests()).toEqual([]);
  });

  it("check_run rerequested plans that commit again in a fresh check run", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles({ banana: `${S1}@${digests[`banana:${S2}`]}` }),
      check: "rerun",
    });
    mockFindPr("nomad-gitops/deploy", "main", null);
    mockCheckUpdate(
      CHECK_ID,
      (b: { conclusion: string; output: { title: string } }) =>
        b.conclusion === "success" && b.output.title === "3 unchanged",
    );
    mockCommitDate(S2, BUILD_COMMIT_DATE);
    await t.probot.receive(checkRunRerequested({ headSha: S2, branch: "main" }));
    // Another App's check run is not ours to re-run.
    await t.probot.receive(checkRunRerequested({ headSha: S2, branch: "main", name: "ci" }));
  });

  it("GitHub keeps failing a write: the check run turns red with the reason and the branch never moves", async () => {
    mockInstallationToken();
    mockPlanningReads({ config: configText(host, SERVICES), files: repoFiles() });
    mockBananaMoveReads();
    github().post(`${R}/git/refs`).reply(502, { message: "Bad Gateway" });
    const bodies: unknown[] = [];
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    await expect(t.probot.receive(event())).rejects.toThrow();
    // Probot logs the failed request with its headers: the credential in them must be redacted.
    expect(t.logs()).toContain('"authorization":"token [REDACTED]"');
    const check = bodies[0] as { conclusion: string; output: { title: string; summary: string } };
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toBe("The deploy run failed");
    // The report is the run's record of its writes: creating the branch failed, nothing after it was tried.
    expect(check.output.summary).toContain(
      "- branch `nomad-gitops/deploy` (created): **failed** (GitHub answered 502 to POST /repos/acme/platform/git/refs: Bad Gateway)\n" +
        "- not tried: the commit, the deploy PR, the sticky comment, the labels",
    );
    expect(check.output.summary).toContain(
      "GitHub is consistent: branch `nomad-gitops/deploy` holds what it held before this run",
    );
    expect(check.output.summary).not.toContain("half-written");
    const writes = takeRequests().filter((r) => /^(POST|PATCH|DELETE) /.test(r) && r !== `POST ${GRAPHQL}`);
    // No in_progress write: the failure's completion is the check run's only write (it claims the run).
    expect(writes).toEqual([`POST ${R}/git/refs`, `PATCH ${R}/check-runs/${CHECK_ID}`]);
  });

  it("with github_release: draft, a draft release lists every service's digest", async () => {
    const config = configText(host, SERVICES, "release_notes: { github_release: draft }");
    mockInstallationToken();
    mockPlanningReads({ config, files: repoFiles() });
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    github()
      .get(`${R}/releases`)
      .query({ per_page: 30 })
      .reply(200, [{ id: 3, draft: false, body: "v1", name: "v1" }]);
    const release: unknown[] = [];
    capture("post", `${R}/releases`, release, { status: 201, body: { id: 4 } });
    await t.probot.receive(event());
    expect(bodies.at(-1)).toMatchObject({ conclusion: "success" });
    expect(normalize(release[0], host)).toMatchInlineSnapshot(`
      {
        "body": "<!-- nomad-gitops:release-draft 2222222222222222222222222222222222222222 -->
      Images of \`main\` at 2222222222222222222222222222222222222222. Rebuild that commit and compare these digests to check that the build is reproducible.

      | service | image | digest | status |
      |---|---|---|---|
      | apple | \`REGISTRY/acme/apple\` | \`sha256:4ece9cd488826ae23287408e96e40a1940f1d26f5859809bb1c675078855a470\` | unchanged |
      | banana | \`REGISTRY/acme/banana\` | \`sha256:09528fbbc77fce8816d4871b9ac1c5ff14bd988cb0cf36f522b0344c2ce91928\` | moved |
      | cherry | \`REGISTRY/acme/cherry\` | \`sha256:1ed85bfaf06ab1e4e3ed1003e36cea50eb20e6fe6dcc19e4c87a2342d9508ec5\` | unchanged |

      <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-11-25 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      ### banana

      \`REGISTRY/acme/banana\`: \`921d74d76d15\` → \`09528fbbc77f\` (tag \`2222222222222222222222222222222222222222\`)

      - [\`a1a1a1a\`](https://github.com/acme/platform/commit/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1) banana: faster peeling (dev)
      ",
        "draft": true,
        "name": "Deploy 2222222: Deploy banana",
        "tag_name": "deploy-2222222",
        "target_commitish": "2222222222222222222222222222222222222222",
      }
    `);
  });

  it("a newer build rewrites the bot's branch from the new deploy head (compare-and-swap on its old head) and edits PR and comment", async () => {
    const NEWER_COMMIT = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
    const newer = await pushImages(registry, [
      ["apple", S3, image("apple", 1)],
      ["banana", S3, image("banana", 3)],
      ["cherry", S3, image("cherry", 1)],
    ]);
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: repoFiles(),
      build: S3,
      head: S3,
      prHead: { sha: NEW_COMMIT, tree: NEW_TREE, parent: S2, build: S2, bot: true },
      ancestry: { status: "ahead", commits: [C1, C2], files: ["services/banana/main.go"] },
    });
    mockCompare(S2, S3, { status: "ahead", commits: [C2], files: ["README.md"] });
    mockHistory(S3, ["services/banana"], C1.date, [[C1]]);
    mockReadTexts(S3, [["RELEASES.md", "# Releases\n"]]);
    mockFindPr("nomad-gitops/deploy", "main", {
      number: 12,
      title: "Deploy banana",
      body: "old body",
      labels: ["deploy", "extra"],
      headSha: NEW_COMMIT,
    });
    const bodies: unknown[] = [];
    capture("post", `${R}/git/trees`, bodies, { status: 201, body: { sha: "f1".repeat(20) } });
    github()
      .post(`${R}/git/commits`, (b: { parents: string[]; tree: string; message: string }) => {
        expect(b.parents).toEqual([S3]);
        expect(b.tree).toBe("f1".repeat(20));
        expect(b.message).toContain(`Nomad-Gitops-Build: ${S3}`);
        return true;
      })
      .reply(201, { sha: NEWER_COMMIT });
    mockGraphql(
      "updateRefs(",
      {
        repositoryId: "R_kgDOtest",
        name: "refs/heads/nomad-gitops/deploy",
        before: NEW_COMMIT,
        after: NEWER_COMMIT,
      },
      { updateRefs: { clientMutationId: null } },
    );
    capture("patch", `${R}/pulls/12`, bodies, { status: 200, body: { number: 12 } });
    mockComments(12, [{ id: 501, body: "<!-- nomad-gitops:images -->\nold", bot: true }]);
    capture("patch", `${R}/issues/comments/501`, bodies, { status: 200, body: { id: 501 } });
    mockCheckUpdate(CHECK_ID, (b: { conclusion: string }) => b.conclusion === "success");
    await t.probot.receive(workflowRunEvent({ headSha: S3, conclusion: "success", branch: "main" }));
    const [tree, pr, comment] = normalize(bodies, host) as [
      { base_tree: string; tree: Array<{ path: string; content: string }> },
      { title: string; body: string },
      { body: string },
    ];
    expect(tree.base_tree).toBe(MAIN_TREE);
    expect(tree.tree[0]!.content).toContain(`image = "REGISTRY/acme/banana@${newer[`banana:${S3}`]}"`);
    expect(pr.title).toBe("Deploy banana");
    expect(pr.body).toContain(`<!-- nomad-gitops:build ${S3} -->`);
    expect(comment.body).toContain("### 1 image changed for");
  });

  it("two replicas race on the branch: the loser's compare-and-swap fails, it plans again and finds the work done", async () => {
    const [, commit, pr, comment, check] = firstRun as [
      unknown,
      Record<string, unknown>,
      { title: string; body: string },
      { body: string },
      { output: unknown },
    ];
    mockInstallationToken();
    // First attempt: the branch does not exist yet, so the bot creates it...
    mockPlanningReads({ config: configText(host, SERVICES), files: repoFiles() });
    mockBananaMoveReads();
    // ...but another replica created it first: GitHub refuses to create it again.
    github()
      .post(`${R}/git/refs`, { ref: "refs/heads/nomad-gitops/deploy", sha: S2 })
      .reply(422, { message: "Reference already exists" });
    // Second attempt, from scratch: the branch and PR hold exactly this build's result.
    mockBranches({
      base: "main",
      head: "nomad-gitops/deploy",
      baseSha: S2,
      baseTree: MAIN_TREE,
      prHead: { sha: "ab".repeat(20), tree: NEW_TREE, parent: S2, build: S2, bot: true },
    });
    mockTree(MAIN_TREE, repoFiles());
    mockReadTexts(
      S2,
      SERVICES.map((s) => [`nomad/${s}.nomad.hcl`, repoFiles()[`nomad/${s}.nomad.hcl`]!]),
    );
    mockCompare(S1, S2, {
      status: "ahead",
      commits: [C1, C2],
      files: ["services/banana/main.go", "README.md"],
    });
    mockCompare(S2, S2, { status: "identical" });
    mockBananaMoveReads({
      number: 12,
      title: pr.title,
      body: pr.body,
      labels: ["deploy"],
      headSha: "ab".repeat(20),
    });
    await mockWrittenTree(commit);
    mockComments(12, [{ id: 501, body: comment.body, bot: true }]);
    // The push's waiting run is claimed by the completing write itself.
    mockCheckUpdate(CHECK_ID, {
      status: "completed",
      conclusion: "success",
      external_id: buildKey(),
      output: check.output,
    });
    await t.probot.receive(event());
    expect(t.logs()).toContain("branch moved during the update; planning again");
  });
});
