// The GitHub Action's committed bundle, run as the Actions runner runs it: a copy of dist-action/ in a
// directory without node_modules, inputs as INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
// GITHUB_EVENT_PATH files, GITHUB_API_URL at the GitHub API stand-in on loopback and a real registry.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, pushTestImage } from "../../src/demo/sandbox/oci.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "ghs_WorkflowTokenForActionTests0123456789";
let api: GitHubStandIn;
let registry: TestRegistry;
let work: string;
let action: string;

beforeAll(async () => {
  [api, registry] = await Promise.all([
    startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } }),
    startRegistry(),
  ]);
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-test-"));
  // What `uses: owner/nomad-gitops-bot@v1` checks out: the committed bundle, no node_modules anywhere above.
  action = path.join(work, "action");
  cpSync(path.join(root, "dist-action"), action, { recursive: true });
});
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

interface Run {
  exitCode: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

let runIds = 100;

async function runAction(
  repoName: string,
  sha: string,
  inputs: Record<string, string> = {},
  run = { id: runIds++, attempt: 1 },
): Promise<Run> {
  const dir = mkdtempSync(path.join(work, "run-"));
  const files = {
    output: path.join(dir, "output"),
    summary: path.join(dir, "summary.md"),
    event: path.join(dir, "event.json"),
  };
  writeFileSync(files.output, "");
  writeFileSync(files.summary, "");
  const timestamp = "2026-11-29T12:00:00Z";
  writeFileSync(
    files.event,
    JSON.stringify({
      workflow_run: { head_sha: sha, head_branch: "main", head_commit: { id: sha, timestamp } },
    }),
  );
  const result = await execa(process.execPath, [path.join(action, "index.js")], {
    cwd: dir,
    extendEnv: false,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      INPUT_TOKEN: TOKEN,
      INPUT_CONFIG: ".github/nomad-gitops.yml",
      "INPUT_DRY-RUN": "false",
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      GITHUB_REPOSITORY: repoName,
      GITHUB_SHA: sha,
      GITHUB_RUN_ID: String(run.id),
      GITHUB_RUN_ATTEMPT: String(run.attempt),
      GITHUB_REF_NAME: "main",
      GITHUB_EVENT_NAME: "workflow_run",
      GITHUB_EVENT_PATH: files.event,
      GITHUB_API_URL: api.url,
      GITHUB_GRAPHQL_URL: `${api.url}/graphql`,
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_WORKSPACE: dir,
    },
    reject: false,
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: result.stdout,
    outputs: parseOutputs(readFileSync(files.output, "utf8")),
    summary: readFileSync(files.summary, "utf8"),
  };
}

/** The runner's `name<<DELIMITER` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!;
  return out;
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
    const writes = api
      .requests()
      .filter((r) => r.write)
      .map((r) => r.route);
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
    // Octokit's throttling spaces content-creating requests out, as GitHub asks: three runs take a while.
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
    expect(run.outputs).toMatchObject({ moved: "web", "pr-number": "" });
    expect(run.summary).toContain("dry run: nothing written");
    expect(api.requests().filter((r) => r.write)).toEqual([]);
  });
});
