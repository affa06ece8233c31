// GitHubDeployments against nock: which listed deployments count as the bot's own for a redelivery.
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitHubDeployments, botPayload } from "../../src/github/deployments.js";
import { R } from "../app/github-mocks.js";
import { INSTALLATION_TOKEN, github } from "../app/harness.js";
import { OWNER, REPO } from "../fixtures/github/payloads.js";

const octokit = new ProbotOctokit({
  auth: { token: INSTALLATION_TOKEN },
  retry: { enabled: false },
  throttle: { enabled: false },
});
const deployments = new GitHubDeployments(octokit, { owner: OWNER, repo: REPO });
const SHA = "9".repeat(40);
const DIGEST = `sha256:${"2".repeat(64)}`;
const bot = { login: "nomad-gitops[bot]", type: "Bot" };

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe("GitHubDeployments.existing", () => {
  it("lists once per merge and keeps the bot's deployments with the rollout payload", async () => {
    const ours = { service: "banana", job: "banana", namespace: "default", digest: DIGEST };
    github()
      .get(`${R}/deployments`)
      .query({ sha: SHA, environment: "staging", per_page: 100 })
      .reply(200, [
        { id: 7, creator: bot, payload: ours },
        // Stored as a string: GitHub hands it back as one.
        { id: 6, creator: bot, payload: JSON.stringify({ ...ours, service: "apple", job: "apple" }) },
        { id: 5, creator: { login: "jane", type: "User" }, payload: { ...ours, service: "cherry" } },
        { id: 4, creator: { login: "other-ci[bot]", type: "Bot" }, payload: { service: "banana" } },
        { id: 3, creator: bot, payload: "not json" },
        { id: 2, creator: null, payload: ours },
      ]);

    expect(await deployments.existing({ ref: SHA, environment: "staging" })).toEqual([
      { id: 7, service: "banana", job: "banana" },
      { id: 6, service: "apple", job: "apple" },
    ]);
  });
});

describe("botPayload", () => {
  it("reads the rollout payload from an object or a JSON string, and nothing else", () => {
    const ours = { service: "banana", job: "banana", namespace: "default", digest: null };
    expect(botPayload(ours)).toEqual({ targets: [{ service: "banana", job: "banana", digest: null }] });
    expect(botPayload(JSON.stringify({ ...ours, digest: DIGEST }))).toEqual({
      targets: [{ service: "banana", job: "banana", digest: DIGEST }],
    });
    // A big merge's one deployment: every target, with the file and the submit's index for a resume.
    const many = {
      namespace: "default",
      targets: [
        { service: "a", job: "a", file: "nomad/a.hcl", digest: DIGEST, submit_index: 40 },
        { service: "b", job: "b", file: "nomad/b.hcl", digest: null },
      ],
    };
    expect(botPayload(many)).toEqual({ targets: many.targets });
    for (const other of [
      "",
      "{",
      "[]",
      "null",
      null,
      [ours],
      {},
      { ...ours, job: undefined },
      { ...ours, service: 1 },
      { service: "banana", job: "banana" },
      { ...ours, digest: 7 },
      { targets: [] },
      { targets: [{ service: "a", job: "a", digest: null, submit_index: "1" }] },
    ])
      expect(botPayload(other), JSON.stringify(other)).toBeNull();
  });
});
