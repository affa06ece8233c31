// The GitHub Action as the Actions runner runs it (test/action/runner.ts): the bundle of the current
// sources in a directory without node_modules, `node index.js` with the runner's environment (INPUT_* with
// action.yml's defaults, GITHUB_*, RUNNER_TEMP, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_EVENT_PATH),
// GITHUB_API_URL at the GitHub API stand-in on loopback (real commits, trees and refs) and a real registry.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, pushTestImage } from "../../src/demo/sandbox/oci.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type ActionRun, buildActionBundle, runActionStep } from "./runner.js";

const TOKEN = "ghs_WorkflowTokenForActionTests0123456789";
let api: GitHubStandIn;
let registry: TestRegistry;
let work: string;
let entry: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-test-"));
  [api, registry, entry] = await Promise.all([
    startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } }),
    startRegistry(),
    buildActionBundle(work),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([api?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const image = (v: string) => buildImage({ layers: [{ "srv/app.txt": `web ${v}\n` }] });

function jobFile(ref: string): string {
  return `job "web" {\n  group "web" {\n    task "web" {\n      driver = "docker"\n      config {\n        image = "${ref}"\n      }\n    }\n  }\n}\n`;
}

/** A repository whose web service is pinned to image v1 (built from its first commit). */
async function setupRepo(name: string, config: string) {
  const repoName = `acme/${name}`;
  const first = api.createRepo({ owner: "acme", name, files: { "README.md": "shop\n" } });
  const v1 = await pushTestImage(registry.host, `${name}/web`, first.sha, image("v1"));
  const pinned = api.pushCommit(
    repoName,
    "main",
    {
      ".github/nomad-gitops.yml": config,
      "nomad/web.nomad.hcl": jobFile(`${registry.host}/${name}/web:${first.sha}@${v1}`),
      "services/web/main.go": "package main\n",
    },
    "pin web",
  );
  return { repoName, v1, pinned };
}

let runIds = 100;

/** The step on a `workflow_run` for `sha` on main; `inputs` are its `with:`. */
function runAction(
  repoName: string,
  sha: string,
  inputs: Record<string, string> = {},
  run = { id: runIds++, attempt: 1 },
  env: Record<string, string> = {},
): Promise<ActionRun> {
  return runActionStep({ entry, api, token: TOKEN, repo: repoName, sha, inputs, run, env, parent: work });
}

const CONFIG = (name: string, extra = "") => `registry: ${"REG"}/${name}\ndashboard: true\n${extra}`;

describe("the GitHub Action, run from its bundle", () => {
  it("moved: one commit on the deploy branch, the PR, the comment, the check run, outputs and summary; then nothing moved: the PR is closed", async () => {
    const config = CONFIG("shop").replace("REG", registry.host);
    const { repoName, v1, pinned } = await setupRepo("shop", config);
    const build = api.pushCommit(
      repoName,
      "main",
      { "services/web/main.go": "package main // v2\n" },
      "web v2",
    );
    const v2 = await pushTestImage(registry.host, "shop/web", build, image("v2"));

    const movedRun = { id: runIds++, attempt: 1 };
    const moved = await runAction(repoName, build, {}, movedRun);
    expect(moved.exitCode, moved.outputs["plan-json"]).toBe(0);
    expect(moved.outputs.moved).toBe("web");
    expect(moved.outputs.unchanged).toBe("");
    expect(moved.outputs["pr-number"]).toMatch(/^\d+$/);
    expect(moved.outputs["pr-url"]).toBe(`https://github.com/${repoName}/pull/${moved.outputs["pr-number"]}`);
    const plan = JSON.parse(moved.outputs["plan-json"]!);
    expect(plan.services[0]).toMatchObject({
      name: "web",
      status: "moved",
      old: { digest: v1 },
      new: { digest: v2 },
    });
    expect(plan.outcome).toBe("committed");

    const state = api.repo(repoName);
    const pr = state.pulls.find((p) => p.number === Number(moved.outputs["pr-number"]))!;
    expect(pr).toMatchObject({ state: "open", head: "nomad-gitops/deploy", base: "main" });
    expect(api.file(repoName, "nomad-gitops/deploy", "nomad/web.nomad.hcl")).toBe(
      jobFile(`${registry.host}/shop/web@${v2}`),
    );
    expect(state.comments.filter((c) => c.issue === pr.number)).toHaveLength(1);
    const check = state.checkRuns.find((c) => c.headSha === build)!;
    expect(check).toMatchObject({ name: "nomad-gitops", status: "completed", conclusion: "success" });
    expect(moved.summary).toContain("### nomad-gitops");
    expect(moved.summary).toContain(`Deploy PR: [#${pr.number}]`);
    expect(moved.summary).toMatch(/\| web \|/);

    // The dashboard: one issue, the pending move listed.
    const dashboards = state.issues.filter((i) => i.body.includes("nomad-gitops:dashboard:start"));
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.body).toContain(`pending in [#${pr.number}]`);
    expect(dashboards[0]!.user.login).toBe("github-actions[bot]");
    // When web's digest last moved: the commit that pinned it, read from the job file's history.
    const webRow = dashboards[0]!.body.split("\n").find((l) => l.startsWith("| **web** |"))!;
    expect(webRow.split(" | ")[3]).toContain(`[\`${pinned.slice(0, 7)}\`]`);
    // A person adds a note above the bot's section.
    dashboards[0]!.body = `Team note: deploys on Tuesdays.\n\n${dashboards[0]!.body}`;

    // The step retried within the same attempt: its check run is completed, nothing is written.
    api.clearRequests();
    const retried = await runAction(repoName, build, {}, movedRun);
    expect(retried.exitCode, retried.stdout).toBe(0);
    expect(JSON.parse(retried.outputs["plan-json"]!)).toEqual({ outcome: "already-done" });
    expect(api.requests().filter((r) => r.write)).toEqual([]);
    // The job re-run (attempt 2): a check run of its own; the branch already holds the deploy's files (its
    // listing is compared, a read), so no tree, commit, PR, comment or dashboard edit.
    const again = await runAction(repoName, build, {}, { ...movedRun, attempt: 2 });
    expect(again.exitCode).toBe(0);
    expect(again.outputs["pr-number"]).toBe(moved.outputs["pr-number"]);
    // The permission probes (github/permissions.ts) are refused by design (422): they create nothing.
    const sent = api.requests().filter((r) => r.write);
    expect(sent.filter((r) => r.status >= 400).every((r) => r.status === 422)).toBe(true);
    const writes = sent.filter((r) => r.status < 400).map((r) => r.route);
    expect(writes).toEqual([
      "POST /repos/:owner/:repo/check-runs",
      "PATCH /repos/:owner/:repo/check-runs/:id",
    ]);

    // Nothing moved: the next build is image v1 again, so the deploy PR is no longer needed.
    const revert = api.pushCommit(
      repoName,
      "main",
      { "services/web/main.go": "package main\n" },
      "revert web",
    );
    await pushTestImage(registry.host, "shop/web", revert, image("v1"));
    const nothing = await runAction(repoName, revert);
    expect(nothing.exitCode, nothing.stdout).toBe(0);
    expect(nothing.outputs).toMatchObject({ moved: "", unchanged: "web", "pr-number": "", "pr-url": "" });
    expect(api.repo(repoName).pulls.find((p) => p.number === pr.number)!.state).toBe("closed");
    const after = api.repo(repoName).issues.filter((i) => i.body.includes("nomad-gitops:dashboard:start"));
    expect(after).toHaveLength(1);
    expect(after[0]!.body.startsWith("Team note: deploys on Tuesdays.\n\n")).toBe(true);
    expect(after[0]!.body).toContain("No deploy PR is open");
  }, 180_000);

  it("unchanged: the image is retagged, no PR is opened", async () => {
    const config = `registry: ${registry.host}/kiosk\nretag: ["{sha}", deployed]\n`;
    const { repoName, v1 } = await setupRepo("kiosk", config);
    const build = api.pushCommit(repoName, "main", { "README.md": "docs only\n" }, "docs");
    await pushTestImage(registry.host, "kiosk/web", build, image("v1"));
    const run = await runAction(repoName, build);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ moved: "", unchanged: "web", "pr-number": "" });
    expect(api.repo(repoName).pulls).toEqual([]);
    const tagged = await fetch(`http://${registry.host}/v2/kiosk/web/manifests/deployed`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(tagged.headers.get("docker-content-digest")).toBe(v1);
    expect(JSON.parse(run.outputs["plan-json"]!).outcome).toBe("no-change");
  });

  it("invalid config: the step fails naming the key, and nothing is written", async () => {
    const { repoName, pinned } = await setupRepo("broken", "registry: Not/A/Valid Prefix\npin: both\n");
    api.clearRequests();
    const run = await runAction(repoName, pinned);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("::error title=nomad-gitops::invalid .github/nomad-gitops.yml:%0A");
    expect(run.stdout).toMatch(/pin: must be one of "tag\+digest", "digest"/);
    expect(run.outputs).toEqual({});
    expect(api.requests().filter((r) => r.write)).toEqual([]);
    expect(run.stdout).not.toContain(TOKEN);
  });

  it("dry run: the plan in the outputs and the summary, nothing written to GitHub or the registry", async () => {
    const config = `registry: ${registry.host}/dry\n`;
    const { repoName } = await setupRepo("dry", config);
    const build = api.pushCommit(
      repoName,
      "main",
      { "services/web/main.go": "package main // v2\n" },
      "web v2",
    );
    await pushTestImage(registry.host, "dry/web", build, image("v2"));
    api.clearRequests();
    const run = await runAction(repoName, build, { "dry-run": "true" });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ moved: "web", "pr-number": "", "pr-url": "" });
    expect(JSON.parse(run.outputs["plan-json"]!)).toMatchObject({ outcome: "would-write", dryRun: true });
    expect(run.summary).toContain("dry run: nothing written");
    expect(run.summary).toContain(
      "A real run would commit 2 files to the deploy branch and open the deploy PR.", // the job file, RELEASES.md,
    );
    expect(api.requests().filter((r) => r.write)).toEqual([]);
  });
});

// One repository through a deploy's life, each step run as the runner runs it. Services are discovered
// from the job files under `registry`; every build pushes all three images under its commit's sha.
describe("a repository's deploys through the Action", () => {
  const SERVICES = ["api", "web", "worker"] as const;
  type Service = (typeof SERVICES)[number];
  const repoName = "acme/fleet";
  const versions: Record<Service, number> = { api: 1, web: 1, worker: 1 };
  const digests: Partial<Record<Service, string>> = {};
  const fleetImage = (s: Service, v: number) => buildImage({ layers: [{ [`srv/${s}`]: `${s} v${v}\n` }] });
  const job = (s: Service, ref: string) =>
    `job "${s}" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      config {\n        image = "${ref}"\n      }\n    }\n  }\n}\n`;
  const pin = (s: Service, _sha: string) => `${registry.host}/fleet/${s}@${digests[s]}`;
  /** A person's commit (`files`), then its build: every image pushed under the commit, straight to the registry. */
  async function commitAndBuild(files: Record<string, string>, message: string): Promise<string> {
    const sha = api.pushCommit(repoName, "main", files, message);
    for (const s of SERVICES)
      digests[s] = await pushTestImage(registry.directHost, `fleet/${s}`, sha, fleetImage(s, versions[s]));
    return sha;
  }
  const registryWrites = () => registry.requests().filter((r) => !["GET", "HEAD"].includes(r.method));
  const blobUploads = () => registry.requests().filter((r) => r.path.includes("/blobs/uploads"));
  const openPulls = () => api.repo(repoName).pulls.filter((p) => p.state === "open");
  const deployFile = (s: Service) => api.file(repoName, "nomad-gitops/deploy", `nomad/${s}.nomad.hcl`);
  let pr = 0;
  let movedRun = { id: 0, attempt: 1 };
  let movedSha = "";

  it("first pin: every service pinned byte-exact in one commit and one PR, no blob uploaded", async () => {
    api.createRepo({ owner: "acme", name: "fleet", files: { "README.md": "fleet\n" } });
    const sha = await commitAndBuild(
      {
        ".github/nomad-gitops.yml": [
          `registry: ${registry.host}/fleet`,
          `retag: ["{sha}", deployed]`,
          "pr: { labels: [deploy] }",
          "services:",
          ...SERVICES.map(
            (s) => `  - { name: ${s}, image: ${registry.host}/fleet/${s}, paths: [services/${s}/**] }`,
          ),
          "",
        ].join("\n"),
        "RELEASES.md": "# Releases\n",
        ...Object.fromEntries(
          SERVICES.map((s) => [`nomad/${s}.nomad.hcl`, job(s, `${registry.host}/fleet/${s}:latest`)]),
        ),
      },
      "set up nomad-gitops",
    );
    registry.clearRequests();
    const run = await runAction(repoName, sha);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ moved: "api,web,worker", unchanged: "" });
    const plan = JSON.parse(run.outputs["plan-json"]!);
    expect(plan.outcome).toBe("committed");
    expect(plan.services.map((s: { status: string }) => s.status)).toEqual(["new", "new", "new"]);
    for (const s of SERVICES) expect(deployFile(s)).toBe(job(s, pin(s, sha)));
    expect(openPulls()).toHaveLength(1);
    pr = openPulls()[0]!.number;
    expect(run.outputs["pr-number"]).toBe(String(pr));
    expect(blobUploads()).toEqual([]);
    api.mergePull(repoName, pr);
  });

  it("one moved service: the App's requests, 8 writes (and 2 refused permission probes), the unchanged images retagged without a blob", async () => {
    versions.web = 2;
    const before = { api: digests.api, worker: digests.worker };
    const sha = await commitAndBuild({ "services/web/main.go": "package main // v2\n" }, "web v2");
    expect({ api: digests.api, worker: digests.worker }).toEqual(before);
    api.clearRequests();
    registry.clearRequests();
    movedRun = { id: runIds++, attempt: 1 };
    movedSha = sha;
    const run = await runAction(repoName, sha, {}, movedRun);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ moved: "web", unchanged: "api,worker" });
    expect(JSON.parse(run.outputs["plan-json"]!).outcome).toBe("committed");
    expect(deployFile("web")).toBe(job("web", pin("web", sha)));
    expect(openPulls()).toHaveLength(1);
    pr = openPulls()[0]!.number;
    expect(run.outputs["pr-url"]).toBe(`https://github.com/${repoName}/pull/${pr}`);
    // The App's requests for this deploy (test/app/request-count.test.ts), but for two: the config is read
    // at the build commit by GraphQL (the `config` input may name any path) instead of Probot's contents
    // route, the check run is created (no push handler queued it) instead of updated, and the workflow
    // token's write permissions are probed before the first write (github/permissions.ts: a tree and a PR
    // GitHub refuses with 422, so nothing is created).
    // The check runs, the branch heads and the open PR are read at once (handlers/deploy.ts): their
    // arrival order is the network's, so the first round is compared as a set.
    const routes = api.requests().map((r) => r.route);
    expect(routes.slice(1, 5).sort()).toEqual([
      "GET /repos/:owner/:repo/commits/:ref/check-runs",
      "GET /repos/:owner/:repo/pulls",
      "POST /repos/:owner/:repo/check-runs",
      "graphql query",
    ]);
    // The deploy starts with two reads at once: the job files' tree, and how the build relates to the
    // deploy branch (core/history.ts: buildAgainstBase, asked while the registry answers).
    expect(routes.slice(5, 7).sort()).toEqual([
      "GET /repos/:owner/:repo/compare/:basehead",
      "GET /repos/:owner/:repo/git/trees/:sha",
    ]);
    expect([routes[0], ...routes.slice(7)]).toEqual([
      "graphql query",
      "graphql query",
      // The job files' deploy commits: which build each digest-only pin came from (core/pin-records.ts).
      "graphql query",
      "graphql query",
      "graphql query",
      "POST /repos/:owner/:repo/git/trees",
      "POST /repos/:owner/:repo/pulls",
      // The PR branch of the earlier, merged PR is still there: rewritten by tree, commit and updateRefs
      // (createCommitOnBranch only fits a branch created for it).
      "POST /repos/:owner/:repo/git/trees",
      "POST /repos/:owner/:repo/git/commits",
      "graphql mutation",
      "POST /repos/:owner/:repo/pulls",
      "POST /repos/:owner/:repo/issues/:number/comments",
      "POST /repos/:owner/:repo/issues/:number/labels",
      "PATCH /repos/:owner/:repo/check-runs/:id",
    ]);
    expect(blobUploads()).toEqual([]);
    // `deployed` added to the two unchanged images: one manifest PUT each, the digest the same.
    expect(
      registryWrites()
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(["PUT /v2/fleet/api/manifests/deployed", "PUT /v2/fleet/worker/manifests/deployed"]);
  });

  it("re-run: the job's next attempt writes only its check run; the same attempt again writes nothing", async () => {
    api.clearRequests();
    const again = await runAction(
      repoName,
      movedSha,
      {},
      {
        ...movedRun,
        attempt: 2,
      },
    );
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.outputs["pr-number"]).toBe(String(pr));
    // The permission probes before the PR's (unchanged) update are refused by design (422): no write.
    expect(
      api
        .requests()
        .filter((r) => r.write && r.status !== 422)
        .map((r) => r.route),
    ).toEqual(["POST /repos/:owner/:repo/check-runs", "PATCH /repos/:owner/:repo/check-runs/:id"]);
    api.clearRequests();
    const retried = await runAction(
      repoName,
      movedSha,
      {},
      {
        ...movedRun,
        attempt: 2,
      },
    );
    expect(retried.exitCode).toBe(0);
    expect(JSON.parse(retried.outputs["plan-json"]!)).toEqual({ outcome: "already-done" });
    expect(api.requests().filter((r) => r.write)).toEqual([]);
  });

  it("dry run with the deploy PR open: that PR in the outputs, what a real run would do, nothing written", async () => {
    versions.api = 2;
    versions.worker = 2;
    const sha = await commitAndBuild(
      { "services/api/main.go": "package main // v2\n", "services/worker/main.go": "package main // v2\n" },
      "api, worker v2",
    );
    const branchBefore = api.repo(repoName).refs.get("refs/heads/nomad-gitops/deploy");
    api.clearRequests();
    registry.clearRequests();
    const run = await runAction(repoName, sha, { "dry-run": "true" });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({
      moved: "api,web,worker",
      unchanged: "",
      "pr-number": String(pr),
      "pr-url": `https://github.com/${repoName}/pull/${pr}`,
    });
    const plan = JSON.parse(run.outputs["plan-json"]!);
    expect(plan).toMatchObject({ outcome: "would-write", dryRun: true });
    expect(plan.counts).toMatchObject({ moved: 3 });
    expect(run.summary).toContain(`A real run would commit 4 files to the deploy branch and update #${pr}.`);
    expect(api.requests().filter((r) => r.write)).toEqual([]);
    expect(registryWrites()).toEqual([]);
    expect(api.repo(repoName).refs.get("refs/heads/nomad-gitops/deploy")).toBe(branchBefore);
  });

  it("two overlapping runs: the newer build wins, one PR, one comment [fault:action-overlapping-runs]", async () => {
    const older = api.repo(repoName).refs.get("refs/heads/main")!;
    versions.web = 3;
    const newer = await commitAndBuild({ "services/web/main.go": "package main // v3\n" }, "web v3");
    // Both runs have planned (they wait at the open-PR lookup, which comes after planning) before either
    // writes: the second writer finds the branch moved and plans again.
    const gate = api.hold((r) => r.method === "GET" && r.path.startsWith(`/repos/${repoName}/pulls?`));
    const runs = Promise.all([runAction(repoName, older), runAction(repoName, newer)]);
    for (let i = 0; gate.held() < 2; i++) {
      if (i > 6000) throw new Error(`only ${gate.held()} run(s) reached the PR lookup`);
      await new Promise((r) => setTimeout(r, 10));
    }
    gate.release();
    const [a, b] = await runs;
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    expect(b.exitCode, b.stdout + b.stderr).toBe(0);
    expect(JSON.parse(b.outputs["plan-json"]!).outcome).toBe("committed");
    expect(["committed", "skipped"]).toContain(JSON.parse(a.outputs["plan-json"]!).outcome);
    for (const s of SERVICES) expect(deployFile(s)).toBe(job(s, pin(s, newer)));
    expect(openPulls().map((p) => p.number)).toEqual([pr]);
    expect(b.outputs["pr-number"]).toBe(String(pr));
    expect(api.repo(repoName).comments.filter((c) => c.issue === pr)).toHaveLength(1);
    const checks = api.repo(repoName).checkRuns.filter((c) => c.headSha === older || c.headSha === newer);
    expect(checks.every((c) => c.status === "completed")).toBe(true);
  });

  it("docs-only push after the merge: nothing moves, no commit or PR, the images get `deployed`", async () => {
    api.mergePull(repoName, pr);
    const sha = await commitAndBuild({ "README.md": "fleet, documented\n" }, "docs");
    api.clearRequests();
    registry.clearRequests();
    const run = await runAction(repoName, sha);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({
      moved: "",
      unchanged: "api,web,worker",
      "pr-number": "",
      "pr-url": "",
    });
    expect(JSON.parse(run.outputs["plan-json"]!).outcome).toBe("no-change");
    expect(openPulls()).toEqual([]);
    expect(
      api
        .requests()
        .filter((r) => r.write)
        .map((r) => r.route),
    ).toEqual(["POST /repos/:owner/:repo/check-runs", "PATCH /repos/:owner/:repo/check-runs/:id"]);
    expect(blobUploads()).toEqual([]);
    for (const s of SERVICES) {
      const tagged = await fetch(`http://${registry.directHost}/v2/fleet/${s}/manifests/deployed`, {
        method: "HEAD",
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      expect(tagged.headers.get("docker-content-digest")).toBe(digests[s]);
    }
  });
});

describe("plain-HTTP registries", () => {
  // 0.0.0.0 reaches the registry on loopback (Linux connects it to 127.0.0.1), but it is not a loopback
  // name, so the bot speaks TLS to it unless told otherwise: a LAN registry without TLS, on one machine.
  it("a registry not on loopback is reached over HTTP only when `insecure-registries` lists it [fault:action-plain-http-registry]", async () => {
    const host = registry.host.replace("127.0.0.1", "0.0.0.0");
    const first = api.createRepo({ owner: "acme", name: "homelab", files: { "README.md": "lab\n" } });
    const v1 = await pushTestImage(registry.directHost, "homelab/web", first.sha, image("v1"));
    api.pushCommit(
      "acme/homelab",
      "main",
      {
        ".github/nomad-gitops.yml": `registry: ${host}/homelab\n`,
        "nomad/web.nomad.hcl": jobFile(`${host}/homelab/web:${first.sha}@${v1}`),
      },
      "pin web",
    );
    const build = api.pushCommit("acme/homelab", "main", { "src/main.go": "package main\n" }, "v2");
    const v2 = await pushTestImage(registry.directHost, "homelab/web", build, image("v2"));

    const tls = await runAction("acme/homelab", build, { "dry-run": "true" });
    expect(tls.exitCode).toBe(1);
    expect(JSON.parse(tls.outputs["plan-json"]!).services[0]).toMatchObject({ name: "web", status: "error" });
    // The service's error names the host and the TLS failure of speaking HTTPS to it.
    expect(tls.summary).toMatch(new RegExp(`\\| web \\| error \\| .*https://${host}/v2/homelab/web/.*SSL`));

    const listed = await runAction("acme/homelab", build, {
      "dry-run": "true",
      "insecure-registries": `registry.lan:5000\n${host}`,
    });
    expect(listed.exitCode, listed.stdout + listed.stderr).toBe(0);
    expect(listed.outputs.moved).toBe("web");
    expect(JSON.parse(listed.outputs["plan-json"]!).services[0].new.digest).toBe(v2);

    const wrong = await runAction("acme/homelab", build, { "insecure-registries": `http://${host}` });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stdout).toContain(
      `::error title=nomad-gitops::input \`insecure-registries\`: "http://${host}" is not host[:port]`,
    );
  });
});
