// The App's side of digest-only pins: the deploy commit that wrote a pin is found in the history of its
// job file through the GitHub API (the stand-in over real HTTP), whole message and trailer included.
import { ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOfPin } from "../../src/core/pin-records.js";
import { GitHubRepoPort } from "../../src/github/ports.js";
import { GitHubRepo } from "../../src/github/repo.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";

const TOKEN = "ghs_DeployCommitsStandInTests";
const coords = { owner: "acme", repo: "shop" };
const D1 = `sha256:${"a1".repeat(32)}`;
const D2 = `sha256:${"b2".repeat(32)}`;
const BUILD1 = "1".repeat(40);
const BUILD2 = "2".repeat(40);
let api: GitHubStandIn;
let octokit: InstanceType<typeof ProbotOctokit>;

beforeAll(async () => {
  api = await startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } });
  octokit = new ProbotOctokit({
    auth: { token: TOKEN },
    baseUrl: api.url,
    throttle: { enabled: false },
    retry: { enabled: false },
  });
  api.createRepo({
    owner: "acme",
    name: "shop",
    files: { "nomad/web.nomad.hcl": 'job "web" {}\n', "README.md": "# shop\n" },
  });
});
afterAll(() => api.stop());

const deployMessage = (from: string, digest: string, build: string) =>
  `Deploy web\n\n- web: ${from} → ${digest.slice(7, 19)} (nomad/web.nomad.hcl)\n\nNomad-Gitops-Build: ${build}\n`;

describe("GitHubRepoPort.deployCommits", () => {
  it("lists the commits of the job files newest first with whole messages: the pin's build is read back", async () => {
    const first = api.pushCommit(
      "acme/shop",
      "main",
      { "nomad/web.nomad.hcl": `job "web" { # ${D1}\n}\n` },
      deployMessage("first pin", D1, BUILD1),
    );
    api.pushCommit("acme/shop", "main", { "README.md": "# shop, docs\n" }, "docs");
    const second = api.pushCommit(
      "acme/shop",
      "main",
      { "nomad/web.nomad.hcl": `job "web" { # ${D2}\n}\n` },
      deployMessage(D1.slice(7, 19), D2, BUILD2),
    );
    const head = api.repo("acme/shop").refs.get("refs/heads/main")!;
    const port = new GitHubRepoPort(new GitHubRepo(octokit, coords), head, "t".repeat(40));
    const history = await port.deployCommits(["nomad/web.nomad.hcl"]);
    // Only the commits that touched the file, newest first; the docs commit is not one of them.
    expect(history.slice(0, 2).map((c) => c.sha)).toEqual([second, first]);
    expect(history.some((c) => c.message === "docs")).toBe(false);
    expect(buildOfPin(history, "web", D2)).toBe(BUILD2);
    expect(buildOfPin(history, "web", D1)).toBe(BUILD1);
  });
});
