import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pushEvent } from "../fixtures/github/payloads.js";
import {
  PUSH_KEY,
  R,
  buildKey,
  mockCheckCreate,
  mockCheckList,
  mockConfig,
  mockInvalidConfigCheck,
} from "./github-mocks.js";
import {
  INSTALLATION_TOKEN,
  expectNoSecrets,
  type TestProbot,
  github,
  mockInstallationToken,
  takeRequests,
  startTestApp,
  expectGitHubDone,
} from "./harness.js";

const SHA = "a".repeat(40);
const CONFIG = `registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml }\n`;

/** Requests other than reads and the token exchange since the last call. */
const writes = () => takeRequests().filter((r) => !r.startsWith("GET ") && !r.includes("/access_tokens"));

let t: TestProbot;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => expectGitHubDone(t));

describe("push", () => {
  it("queues the check run on a push to the default branch (build started by the push itself)", async () => {
    mockInstallationToken();
    mockConfig(CONFIG, SHA);
    mockCheckList(SHA, []);
    mockCheckCreate({
      name: "nomad-gitops",
      head_sha: SHA,
      status: "queued",
      external_id: PUSH_KEY,
      output: {
        title: "Waiting for the build",
        summary: "Waiting for `images.yml` to finish for aaaaaaa on `main`.",
      },
    });
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("dispatches the build with inputs.sha when build.trigger is dispatch, then queues the check run", async () => {
    mockInstallationToken();
    mockConfig(
      `registry: ghcr.io/acme/platform\nbranches: [main, release]\nbuild: { workflow: images.yml, trigger: dispatch }\n`,
      SHA,
    );
    mockCheckList(SHA, []);
    github()
      .post(`${R}/actions/workflows/images.yml/dispatches`, { ref: "release", inputs: { sha: SHA } })
      .reply(204);
    mockCheckCreate({
      name: "nomad-gitops",
      head_sha: SHA,
      status: "queued",
      external_id: PUSH_KEY,
      output: {
        title: "Waiting for the build",
        summary: "Dispatched `images.yml` for aaaaaaa on `release`; the plan follows when it succeeds.",
      },
    });
    await t.probot.receive(pushEvent({ ref: "refs/heads/release", after: SHA }));
  });

  it("[fault:app-redelivered-push] a redelivered push (the commit has a check run) dispatches, writes and re-titles nothing", async () => {
    const config = `registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: dispatch }\n`;
    takeRequests();
    mockInstallationToken(); // once: Probot keeps the installation token
    // Waiting for its build, or already deployed: either way the push was handled.
    for (const run of [
      { id: 5, status: "queued", external_id: PUSH_KEY },
      { id: 6, status: "completed", conclusion: "success", external_id: buildKey() },
    ]) {
      mockConfig(config, SHA);
      mockCheckList(SHA, [run]);
      await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
    }
    expect(writes()).toEqual([]);
  });

  it("dispatches without inputs when the workflow declares no sha input (GitHub answers 422)", async () => {
    mockInstallationToken();
    mockConfig(`registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: dispatch }\n`, SHA);
    mockCheckList(SHA, []);
    github()
      .post(`${R}/actions/workflows/images.yml/dispatches`, { ref: "main", inputs: { sha: SHA } })
      .reply(422, { message: 'Unexpected inputs provided: ["sha"]' });
    github().post(`${R}/actions/workflows/images.yml/dispatches`, { ref: "main" }).reply(204);
    mockCheckCreate({
      name: "nomad-gitops",
      head_sha: SHA,
      status: "queued",
      external_id: PUSH_KEY,
      output: {
        title: "Waiting for the build",
        summary: "Dispatched `images.yml` for aaaaaaa on `main`; the plan follows when it succeeds.",
      },
    });
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("fails the check run with GitHub's reason when the workflow cannot be dispatched", async () => {
    mockInstallationToken();
    mockConfig(`registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: dispatch }\n`, SHA);
    mockCheckList(SHA, []);
    github()
      .post(`${R}/actions/workflows/images.yml/dispatches`, { ref: "main", inputs: { sha: SHA } })
      .reply(404, { message: "Not Found" });
    mockCheckList(SHA, []);
    github()
      .post(
        `${R}/check-runs`,
        (body: { status: string; conclusion: string; output: { title: string; summary: string } }) => {
          expect(body).toEqual({
            name: "nomad-gitops",
            head_sha: SHA,
            status: "completed",
            conclusion: "failure",
            output: {
              title: "Could not dispatch the build",
              summary: expect.stringMatching(/^Dispatching `images.yml` on `main` failed: Not Found/),
            },
          });
          expect(body.output.summary).toContain("it needs `on: workflow_dispatch`");
          return true;
        },
      )
      .reply(201, { id: 12 });
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("a dispatch that fails for a transient reason (5xx) leaves no check run, so GitHub's redelivery retries it", async () => {
    takeRequests();
    mockInstallationToken();
    mockConfig(`registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: dispatch }\n`, SHA);
    mockCheckList(SHA, []);
    github()
      .post(`${R}/actions/workflows/images.yml/dispatches`, { ref: "main", inputs: { sha: SHA } })
      .reply(503, { message: "Service Unavailable" });
    await expect(t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }))).rejects.toThrow();
    expect(writes()).toEqual([`POST ${R}/actions/workflows/images.yml/dispatches`]);
  });

  it("fails the check run when no build workflow is configured (nothing could ever deploy)", async () => {
    mockInstallationToken();
    mockConfig(`registry: ghcr.io/acme/platform\n`, SHA);
    mockCheckList(SHA, []);
    mockInvalidConfigCheck(
      SHA,
      'build.workflow: is required by the App: the file name of the workflow that builds the images, e.g. "images.yml"',
    );
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("ignores tag pushes and branch deletions without a single API call", async () => {
    await t.probot.receive(pushEvent({ ref: "refs/tags/v1.0.0", after: SHA }));
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA, deleted: true }));
  });

  it("ignores pushes to branches that are not deploy branches (after reading their config)", async () => {
    mockInstallationToken();
    mockConfig(CONFIG, SHA);
    await t.probot.receive(pushEvent({ ref: "refs/heads/feature/x", after: SHA }));
  });

  it("stays quiet in a repository without any config (nor an org default)", async () => {
    mockInstallationToken();
    mockConfig(null, SHA);
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("fails the check run quoting each key and its problem when the config is invalid", async () => {
    mockInstallationToken();
    mockConfig(
      `registry: ghcr.io/acme/platform\npin: sha\nservices:\n  - name: banana\n    image: GHCR.io/Acme/Banana:latest\n`,
      SHA,
    );
    mockCheckList(SHA, []);
    mockInvalidConfigCheck(
      SHA,
      'services.0.image: must be an image repository without tag or digest, e.g. "ghcr.io/acme/platform/banana" (lowercase path)',
      'pin: must be one of "tag+digest", "digest"',
    );
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("reports YAML that does not parse as an invalid config", async () => {
    mockInstallationToken();
    mockConfig(`registry: [unclosed\n`, SHA);
    mockCheckList(SHA, []);
    github()
      .post(`${R}/check-runs`, (body: { conclusion: string; output: { summary: string } }) => {
        expect(body.conclusion).toBe("failure");
        expect(body.output.summary).toContain("invalid YAML");
        return true;
      })
      .reply(201, { id: 1 });
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("merges an org-level config through _extends (the repo's keys win)", async () => {
    mockInstallationToken();
    mockConfig("_extends: .github\nbuild: { workflow: images.yml }\n", SHA);
    github()
      .get("/repos/acme/.github/contents/.github%2Fnomad-gitops.yml")
      .reply(200, "registry: ghcr.io/acme/platform\nbuild: { workflow: org-default.yml }\n", {
        "content-type": "application/vnd.github.raw; charset=utf-8",
      });
    mockCheckList(SHA, []);
    mockCheckCreate({
      name: "nomad-gitops",
      head_sha: SHA,
      status: "queued",
      external_id: PUSH_KEY,
      output: {
        title: "Waiting for the build",
        summary: "Waiting for `images.yml` to finish for aaaaaaa on `main`.",
      },
    });
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("logs every GitHub request at trace level, and the secret check would catch a leaked credential", async () => {
    mockInstallationToken();
    mockConfig(CONFIG, SHA);
    await t.probot.receive(pushEvent({ ref: "refs/heads/feature/x", after: SHA }));
    expect(t.logs()).toContain("GitHub request: GET https://api.github.com/repos/acme/platform/contents/");
    expect(() => expectNoSecrets(`{"msg":"token ${INSTALLATION_TOKEN}"}`)).toThrow("installation token");
    expect(() =>
      expectNoSecrets(`{"headers":{"authorization":"bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjE3MTd9.c2ln"}}`),
    ).toThrow("JWT, authorization header");
  });
});
