// The GitHub API stand-in answers the App's own GitHub layer (src/github) over real HTTP with state that
// behaves like a repository: commits are content-addressed, the branch moves by compare-and-swap, PRs,
// comments, check runs and deployments are found again. It also plays rate limits and webhook deliveries.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { verify } from "@octokit/webhooks-methods";
import { ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckRuns } from "../../../src/github/checks.js";
import { StickyComment } from "../../../src/github/comment.js";
import { GitHubDeployments } from "../../../src/github/deployments.js";
import { PullRequests } from "../../../src/github/pr.js";
import { RefRaceError } from "../../../src/github/errors.js";
import { GitHubRepo } from "../../../src/github/repo.js";
import { AttestationsAccessError, listAttestations } from "../../../src/github/attestations.js";
import { BUILD_TRAILER } from "../../../src/core/render.js";
import { type GitHubStandIn, sendPush, startGitHubApi } from "./index.js";
import { workflowGrants } from "./permissions.js";

const TOKEN = "ghs_ActionTokenForStandInTests";
const NO_ATTESTATIONS = "ghs_ActionTokenWithoutAttestationsRead";
let api: GitHubStandIn;
let octokit: InstanceType<typeof ProbotOctokit>;
const coords = { owner: "acme", repo: "shop" };

beforeAll(async () => {
  api = await startGitHubApi({
    tokens: {
      [TOKEN]: "github-actions[bot]",
      [NO_ATTESTATIONS]: {
        login: "github-actions[bot]",
        permissions: workflowGrants({ contents: "write", "pull-requests": "write" }),
      },
    },
  });
  octokit = new ProbotOctokit({
    auth: { token: TOKEN },
    baseUrl: api.url,
    throttle: { enabled: false },
    retry: { enabled: false },
  });
  api.createRepo({
    owner: "acme",
    name: "shop",
    files: { "nomad/web.nomad.hcl": 'job "web" {}\n', "services/web/main.go": "package main\n" },
  });
});
afterAll(() => api.stop());

describe("the App's GitHub layer against the stand-in", () => {
  it("reads a branch, writes one commit by compare-and-swap, and refuses a stale expectation", async () => {
    const repo = new GitHubRepo(octokit, coords);
    const state = await repo.branches("main", "nomad-gitops/deploy");
    expect(state.head).toBeNull();
    expect(state.base?.sha).toBe(api.repo("acme/shop").refs.get("refs/heads/main"));
    const files = await repo.listFiles(state.base!.tree);
    expect(files.map((f) => f.path)).toEqual(["nomad/web.nomad.hcl", "services/web/main.go"]);
    const texts = await repo.readTexts(state.base!.sha, ["nomad/web.nomad.hcl", "missing.hcl"]);
    expect([...texts]).toEqual([
      ["nomad/web.nomad.hcl", 'job "web" {}\n'],
      ["missing.hcl", null],
    ]);

    const tree = await repo.createTree(state.base!.tree, [
      { path: "nomad/web.nomad.hcl", content: 'job "web" { # pinned\n}\n' },
    ]);
    // Trees are content-addressed: the same change gives the same tree.
    expect(
      await repo.createTree(state.base!.tree, [
        { path: "nomad/web.nomad.hcl", content: 'job "web" { # pinned\n}\n' },
      ]),
    ).toBe(tree);
    const commit = await repo.createCommit({
      tree,
      parent: state.base!.sha,
      // The core writes the build trailer into the message (renderCommitMessage).
      message: `Deploy web\n\n${BUILD_TRAILER}: ${state.base!.sha}\n`,
    });
    await repo.setBranch(state.repositoryId, "nomad-gitops/deploy", commit, null);
    await expect(
      repo.setBranch(state.repositoryId, "nomad-gitops/deploy", commit, null),
    ).rejects.toBeInstanceOf(RefRaceError);

    const again = await repo.branches("main", "nomad-gitops/deploy");
    expect(again.head).toMatchObject({
      sha: commit,
      tree,
      parents: [state.base!.sha],
      build: state.base!.sha,
      ownedByBot: true,
    });
    expect(api.file("acme/shop", "nomad-gitops/deploy", "nomad/web.nomad.hcl")).toBe(
      'job "web" { # pinned\n}\n',
    );
  });

  it("creates a branch and commits on it with createCommitOnBranch, as GitHub documents it", async () => {
    const repo = new GitHubRepo(octokit, coords);
    const state = await repo.branches("main", "nomad-gitops/created");
    const base = state.base!.sha;
    await repo.createBranch("nomad-gitops/created", base);
    await expect(repo.createBranch("nomad-gitops/created", base)).rejects.toBeInstanceOf(RefRaceError);
    const message = `Deploy web\n\nWhy it moved.\n\n${BUILD_TRAILER}: ${base}`;
    const changes = [
      { path: "nomad/web.nomad.hcl", content: 'job "web" { # pinned ü\n}\n' },
      { path: "nomad/new.nomad.hcl", content: 'job "new" {}\n' },
      { path: "services/web/main.go", content: null },
    ];
    const commit = await repo.commitOnBranch({
      branch: "nomad-gitops/created",
      expectedHead: base,
      changes,
      message,
    });
    const after = await repo.branches("main", "nomad-gitops/created");
    // Made by the App and signed by GitHub, on the head it expected, with the message as sent.
    expect(after.head).toMatchObject({ sha: commit, parents: [base], build: base, ownedByBot: true });
    expect(api.store.commits.get(commit)!.message).toBe(message);
    expect(api.file("acme/shop", "nomad-gitops/created", "nomad/web.nomad.hcl")).toBe(
      'job "web" { # pinned ü\n}\n',
    );
    expect((await repo.listFiles(commit)).map((f) => `${f.mode} ${f.path}`)).toEqual([
      "100644 nomad/new.nomad.hcl",
      "100644 nomad/web.nomad.hcl",
    ]);
    // The compare-and-swap: the branch is no longer at `base`, so nothing is written.
    await expect(
      repo.commitOnBranch({ branch: "nomad-gitops/created", expectedHead: base, changes, message }),
    ).rejects.toBeInstanceOf(RefRaceError);
    expect(api.repo("acme/shop").refs.get("refs/heads/nomad-gitops/created")).toBe(commit);
    // Deleting a file that is not there is GitHub's error, not a silent success.
    await expect(
      repo.commitOnBranch({
        branch: "nomad-gitops/created",
        expectedHead: commit,
        changes: [{ path: "services/web/main.go", content: null }],
        message,
      }),
    ).rejects.toThrow(/requested for deletion which does not exist/);
    // Contents must be base64, as the schema's Base64String says.
    const raw = await octokit
      .graphql(
        `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
        {
          input: {
            branch: { repositoryNameWithOwner: "acme/shop", branchName: "nomad-gitops/created" },
            expectedHeadOid: commit,
            message: { headline: "x" },
            fileChanges: { additions: [{ path: "a.txt", contents: "not base64!" }] },
          },
        },
      )
      .catch((e: unknown) => e);
    expect(String(raw)).toMatch(/not Base64/);
    expect(api.repo("acme/shop").refs.get("refs/heads/nomad-gitops/created")).toBe(commit);
  });

  it("compares ranges and lists the history of a path", async () => {
    const repo = new GitHubRepo(octokit, coords);
    const base = api.repo("acme/shop").refs.get("refs/heads/main")!;
    const c1 = api.pushCommit(
      "acme/shop",
      "main",
      { "services/web/main.go": "package main // v2\n" },
      "web: v2",
    );
    const c2 = api.pushCommit("acme/shop", "main", { "README.md": "# shop\n" }, "docs");
    const range = await repo.compareRange(base, c2);
    expect(range.status).toBe("ahead");
    expect(range.commits.map((c) => c.sha)).toEqual([c1, c2]);
    expect(range.files).toEqual(["README.md", "services/web/main.go"]);
    expect((await repo.compareRange(c2, base)).status).toBe("behind");
    const history = await repo.history(c2, ["services/web", "README.md"]);
    expect(history.get("services/web")!.map((c) => c.sha)).toEqual([c1, base]);
    expect(history.get("README.md")!.map((c) => c.message)).toEqual(["docs"]);
  });

  it("finds and updates the PR, the sticky comment and the check run instead of adding new ones", async () => {
    const pulls = new PullRequests(octokit, coords);
    expect(await pulls.findOpen("nomad-gitops/deploy", "main")).toBeNull();
    const pr = await pulls.upsert({
      existing: null,
      head: "nomad-gitops/deploy",
      base: "main",
      title: "Deploy web",
      body: "b",
    });
    const open = await pulls.findOpen("nomad-gitops/deploy", "main");
    expect(open).toMatchObject({ number: pr.number, title: "Deploy web" });
    expect(
      (
        await pulls.upsert({
          existing: open,
          head: "nomad-gitops/deploy",
          base: "main",
          title: "Deploy web",
          body: "b",
        })
      ).action,
    ).toBe("unchanged");
    await pulls.addLabels(pr.number, [], ["deploy"]);

    const sticky = new StickyComment(octokit, coords);
    expect((await sticky.upsert(pr.number, "images")).action).toBe("created");
    expect((await sticky.upsert(pr.number, "images")).action).toBe("unchanged");
    expect((await sticky.upsert(pr.number, "images v2")).action).toBe("updated");

    const checks = new CheckRuns(octokit, coords);
    const sha = api.repo("acme/shop").refs.get("refs/heads/main")!;
    const id = await checks.ensure(sha, "queued");
    expect(await checks.ensure(sha, "in_progress")).toBe(id);
    await checks.complete(id, "success", { title: "done", summary: "ok" });

    const state = api.repo("acme/shop");
    expect(state.pulls).toHaveLength(1);
    expect(state.pulls[0]!.labels).toEqual(["deploy"]);
    expect(state.comments.map((c) => c.body)).toEqual(["<!-- nomad-gitops:images -->\nimages v2"]);
    expect(state.checkRuns.map((r) => r.history.map((h) => h.status))).toEqual([
      ["queued", "in_progress", "completed"],
    ]);
  });

  it("keeps deployments and their statuses, as the bot's", async () => {
    const deployments = new GitHubDeployments(octokit, coords);
    const sha = api.repo("acme/shop").refs.get("refs/heads/main")!;
    const id = await deployments.create({
      ref: sha,
      environment: "production",
      description: "web",
      payload: { service: "web", job: "web", digest: null },
    });
    await deployments.status(id, { state: "in_progress", description: "rolling" });
    expect(await deployments.existing({ ref: sha, environment: "production" })).toEqual([
      { id, service: "web", job: "web" },
    ]);
    expect(api.repo("acme/shop").deployments[0]!.statuses.map((s) => s.state)).toEqual(["in_progress"]);
  });
});

describe("attestations", () => {
  it("lists a digest's bundles 100 a page by cursor, answers 404 for an unattested digest, and refuses a token without attestations: read", async () => {
    const digest = `sha256:${"5a".repeat(32)}`;
    const bundles = Array.from({ length: 130 }, (_, i) => ({ n: i }));
    for (const b of bundles) api.addAttestation("acme/shop", digest, b);
    api.clearRequests();
    expect(await listAttestations(octokit, coords, digest)).toEqual(bundles);
    const asked = api.requests().map((r) => r.path);
    // Octokit sends the digest's colon encoded, as it does to GitHub.
    const path = `/repos/acme/shop/attestations/${encodeURIComponent(digest)}`;
    expect(asked).toEqual([`${path}?per_page=100`, `${path}?per_page=100&after=100`]);
    expect(await listAttestations(octokit, coords, `sha256:${"00".repeat(32)}`)).toEqual([]);
    expect(api.requests().at(-1)?.status).toBe(404);

    const scoped = new ProbotOctokit({
      auth: { token: NO_ATTESTATIONS },
      baseUrl: api.url,
      throttle: { enabled: false },
      retry: { enabled: false },
    });
    const refused = listAttestations(scoped, coords, digest);
    await expect(refused).rejects.toBeInstanceOf(AttestationsAccessError);
    await expect(refused).rejects.toThrow("needs the `attestations: read` permission on acme/shop");
    expect(api.requests().at(-1)?.status).toBe(403);
  });
});

describe("requests, limits and deliveries", () => {
  it("records every request with its route, and counts content-creating ones", async () => {
    api.clearRequests();
    const repo = new GitHubRepo(octokit, coords);
    const state = await repo.branches("main", "x");
    await repo.createTree(state.base!.tree, []);
    expect(api.requests().map((r) => [r.route, r.write, r.actor])).toEqual([
      ["graphql query", false, "github-actions[bot]"],
      ["POST /repos/:owner/:repo/git/trees", true, "github-actions[bot]"],
    ]);
  });

  it("answers secondary and primary rate limits as GitHub does, and enforces a per-minute write budget", async () => {
    const headers = { authorization: `token ${TOKEN}`, "content-type": "application/json" };
    const post = () =>
      fetch(`${api.url}/repos/acme/shop/git/blobs`, {
        method: "POST",
        headers,
        body: JSON.stringify({ content: "x" }),
      });
    api.failNext({ kind: "secondary", retryAfter: 7 });
    const secondary = await post();
    expect(secondary.status).toBe(403);
    expect(secondary.headers.get("retry-after")).toBe("7");
    expect(((await secondary.json()) as { message: string }).message).toMatch(/secondary rate limit/);
    api.failNext({ kind: "primary", status: 429, resetIn: 30 });
    const primary = await post();
    expect(primary.status).toBe(429);
    expect(primary.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(primary.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000 + 25);
    expect((await post()).status).toBe(201);
    // Reads are not limited by a rule that matches writes.
    api.failNext({ kind: "secondary" });
    expect((await fetch(`${api.url}/repos/acme/shop`, { headers })).status).toBe(200);
    api.clearLimits();

    const budget = await startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" }, writesPerMinute: 3 });
    try {
      budget.createRepo({ owner: "acme", name: "shop", files: { a: "a" } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1)
        statuses.push(
          (
            await fetch(`${budget.url}/repos/acme/shop/git/blobs`, {
              method: "POST",
              headers,
              body: JSON.stringify({ content: `${i}` }),
            })
          ).status,
        );
      expect(statuses).toEqual([201, 201, 201, 403]);
    } finally {
      await budget.stop();
    }
  });

  it("sends signed deliveries, lists them for the App's JWT, and redelivers a failed one", async () => {
    const received: Array<{ guid: string; valid: boolean }> = [];
    let answer = 503;
    const target = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c));
      req.on("end", () => {
        void verify(api.webhookSecret, body, String(req.headers["x-hub-signature-256"])).then((valid) => {
          received.push({ guid: String(req.headers["x-github-delivery"]), valid });
          res.writeHead(answer).end();
        });
      });
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    api.webhookUrls = [`http://127.0.0.1:${(target.address() as AddressInfo).port}/`];
    try {
      const first = await sendPush(api, "acme/shop", "main");
      expect(first.statusCode).toBe(503);
      const jwt = [{ alg: "RS256" }, { iss: api.appId }, "sig"]
        .map((p) => Buffer.from(typeof p === "string" ? p : JSON.stringify(p)).toString("base64url"))
        .join(".");
      const auth = { authorization: `Bearer ${jwt}` };
      const list = (await (
        await fetch(`${api.url}/app/hook/deliveries?per_page=10`, { headers: auth })
      ).json()) as Array<{ id: number; guid: string; status_code: number; event: string }>;
      expect(list[0]).toMatchObject({ id: first.id, guid: first.guid, status_code: 503, event: "push" });
      // An installation token is not the App's JWT.
      expect(
        (await fetch(`${api.url}/app/hook/deliveries`, { headers: { authorization: `token ${TOKEN}` } }))
          .status,
      ).toBe(401);

      answer = 202;
      expect(
        (
          await fetch(`${api.url}/app/hook/deliveries/${first.id}/attempts`, {
            method: "POST",
            headers: auth,
          })
        ).status,
      ).toBe(202);
      await expect.poll(() => api.deliveries().length).toBe(2);
      await expect.poll(() => api.deliveries()[1]!.statusCode).toBe(202);
      expect(api.deliveries()[1]).toMatchObject({ guid: first.guid, redelivery: true });
      expect(received).toEqual([
        { guid: first.guid, valid: true },
        { guid: first.guid, valid: true },
      ]);
    } finally {
      api.webhookUrls = [];
      await new Promise((r) => target.close(r));
    }
  });
});
