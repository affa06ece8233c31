import { afterEach, beforeEach, describe, it } from "vitest";
import { pullRequestEvent } from "../fixtures/github/payloads.js";
import { R, mockCheckCreate, mockCheckList, mockConfig, mockInvalidConfigCheck } from "./github-mocks.js";
import { type TestProbot, github, mockInstallationToken, startTestApp, expectGitHubDone } from "./harness.js";

const HEAD = "c".repeat(40);
const CONFIG = "registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml }\n";

let t: TestProbot;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => expectGitHubDone(t));

/** The branch's ref: its head, or 404 when it does not exist. */
function mockRef(branch: string, sha: string | null) {
  const scope = github().get(`${R}/git/ref/heads%2F${branch.replace(/\//g, "%2F")}`);
  if (sha === null) scope.reply(404, { message: "Not Found" });
  else scope.reply(200, { ref: `refs/heads/${branch}`, object: { sha, type: "commit" } });
}

function mockFiles(
  number: number,
  files: Array<{ filename: string; previous_filename?: string; status?: string }>,
) {
  github()
    .get(`${R}/pulls/${number}/files`)
    .query({ per_page: 100 })
    .reply(
      200,
      files.map((f) => ({ status: "modified", ...f })),
    );
}

describe("pull_request closed", () => {
  it("deletes the deploy branch once its PR is merged", async () => {
    mockInstallationToken();
    mockConfig(CONFIG);
    mockRef("nomad-gitops/deploy", HEAD);
    github().delete(`${R}/git/refs/heads%2Fnomad-gitops%2Fdeploy`).reply(204);
    await t.probot.receive(
      pullRequestEvent({
        action: "closed",
        number: 12,
        head: "nomad-gitops/deploy",
        headSha: HEAD,
        merged: true,
      }),
    );
  });

  it("treats an already deleted branch as done (redelivery)", async () => {
    mockInstallationToken();
    mockConfig(CONFIG);
    mockRef("nomad-gitops/deploy", HEAD);
    github()
      .delete(`${R}/git/refs/heads%2Fnomad-gitops%2Fdeploy`)
      .reply(422, { message: "Reference does not exist" });
    await t.probot.receive(
      pullRequestEvent({
        action: "closed",
        number: 12,
        head: "nomad-gitops/deploy",
        headSha: HEAD,
        merged: true,
      }),
    );
  });

  it("[fault:app-redelivered-merge] a redelivered merge deletes nothing: the branch is gone, or holds a newer deploy PR's commit", async () => {
    mockInstallationToken();
    const merged = () =>
      pullRequestEvent({
        action: "closed",
        number: 12,
        head: "nomad-gitops/deploy",
        headSha: HEAD,
        merged: true,
      });
    mockConfig(CONFIG);
    mockRef("nomad-gitops/deploy", null);
    await t.probot.receive(merged());
    mockConfig(CONFIG);
    mockRef("nomad-gitops/deploy", "d".repeat(40));
    await t.probot.receive(merged());
  });

  it("keeps the branch of a deploy PR closed without merging, and ignores other PRs and forks", async () => {
    mockInstallationToken();
    mockConfig(CONFIG);
    mockConfig(CONFIG);
    await t.probot.receive(
      pullRequestEvent({
        action: "closed",
        number: 12,
        head: "nomad-gitops/deploy",
        headSha: HEAD,
        merged: false,
      }),
    );
    await t.probot.receive(
      pullRequestEvent({ action: "closed", number: 13, head: "feature/x", headSha: HEAD, merged: true }),
    );
    await t.probot.receive(
      pullRequestEvent({
        action: "closed",
        number: 14,
        head: "nomad-gitops/deploy",
        headSha: HEAD,
        merged: true,
        fromFork: true,
      }),
    );
  });
});

describe("pull_request changing the config", () => {
  it("fails a check on the PR's head commit quoting the key and the problem", async () => {
    mockInstallationToken();
    mockFiles(7, [{ filename: "README.md" }, { filename: ".github/nomad-gitops.yml" }]);
    mockConfig("registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: always }\n", HEAD);
    mockCheckList(HEAD, []);
    mockInvalidConfigCheck(HEAD, 'build.trigger: must be one of "push", "dispatch"');
    await t.probot.receive(
      pullRequestEvent({ action: "opened", number: 7, head: "tune-config", headSha: HEAD }),
    );
  });

  it("flags a .yaml config file, which the bot would never read", async () => {
    mockInstallationToken();
    mockFiles(10, [{ filename: ".github/nomad-gitops.yaml", status: "added" }]);
    mockCheckList(HEAD, []);
    mockCheckCreate({
      name: "nomad-gitops",
      head_sha: HEAD,
      status: "completed",
      conclusion: "failure",
      output: {
        title: "Rename .github/nomad-gitops.yaml to nomad-gitops.yml",
        summary:
          "The bot reads `.github/nomad-gitops.yml` only: `.github/nomad-gitops.yaml` would be ignored.",
      },
    });
    await t.probot.receive(pullRequestEvent({ action: "opened", number: 10, head: "cfg", headSha: HEAD }));
  });

  it("passes a valid config, and leaves PRs that do not touch it alone", async () => {
    mockInstallationToken();
    mockFiles(8, [{ filename: ".github/nomad-gitops.yml" }]);
    mockConfig(CONFIG, HEAD);
    mockCheckList(HEAD, []);
    mockCheckCreate({
      name: "nomad-gitops",
      head_sha: HEAD,
      status: "completed",
      conclusion: "success",
      output: {
        title: ".github/nomad-gitops.yml is valid",
        summary: "The changed `.github/nomad-gitops.yml` passes validation.",
      },
    });
    mockFiles(9, [{ filename: "services/banana/main.go" }]);
    await t.probot.receive(
      pullRequestEvent({ action: "synchronize", number: 8, head: "tune-config", headSha: HEAD }),
    );
    await t.probot.receive(pullRequestEvent({ action: "opened", number: 9, head: "feature", headSha: HEAD }));
  });

  it("[fault:app-redelivered-pull-request] a redelivered pull_request finds its check run saying the same and writes nothing", async () => {
    mockInstallationToken();
    mockFiles(8, [{ filename: ".github/nomad-gitops.yml" }]);
    mockConfig(CONFIG, HEAD);
    mockCheckList(HEAD, [
      {
        id: 31,
        status: "completed",
        conclusion: "success",
        output: {
          title: ".github/nomad-gitops.yml is valid",
          summary: "The changed `.github/nomad-gitops.yml` passes validation.",
        },
      },
    ]);
    await t.probot.receive(
      pullRequestEvent({ action: "synchronize", number: 8, head: "tune-config", headSha: HEAD }),
    );
    // Same commit, another verdict (the org's config changed meanwhile): a new run, the completed one untouched.
    mockFiles(8, [{ filename: ".github/nomad-gitops.yml" }]);
    mockConfig("registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: always }\n", HEAD);
    mockCheckList(HEAD, [{ id: 31, status: "completed", conclusion: "success" }]);
    github()
      .post(`${R}/check-runs`, (b: { conclusion: string }) => b.conclusion === "failure")
      .reply(201, { id: 32 });
    await t.probot.receive(
      pullRequestEvent({ action: "synchronize", number: 8, head: "tune-config", headSha: HEAD }),
    );
  });
});
