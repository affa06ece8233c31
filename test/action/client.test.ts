// The Action's GitHub client is the App's (src/github/octokit.ts), authenticated with the workflow token:
// GitHub's rate-limit answers are handled by the App's bounded policy (the plain ProbotOctokit the Action
// used before retried any secondary limit, however long GitHub asked it to wait). That its writes are no
// longer spaced 1 s apart is measured by `npm run bench` (bench/action.ts), not asserted on a clock here.
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_PACING, octokitForToken } from "../../src/github/octokit.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";

const TOKEN = "ghs_WorkflowTokenForTheClientTest0123456789";
let api: GitHubStandIn;

beforeAll(async () => {
  api = await startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } });
  api.createRepo({ owner: "acme", name: "client", files: { "README.md": "hi\n" } });
});
afterAll(() => api.stop());

const client = () => octokitForToken(TOKEN, { baseUrl: api.url, repository: "acme/client" });
const blob = (o: ReturnType<typeof client>, content: string) =>
  o.request("POST /repos/{owner}/{repo}/git/blobs", { owner: "acme", repo: "client", content });

it("authenticates with the token and retries a short secondary rate limit once, as the App does", async () => {
  const o = client();
  api.clearRequests();
  api.failNext({ kind: "secondary", retryAfter: 1 });
  await blob(o, "after a secondary limit");
  expect(api.requests().map((r) => [r.status, r.actor])).toEqual([
    [403, "github-actions[bot]"],
    [201, "github-actions[bot]"],
  ]);
});

it("fails with GitHub's message when GitHub asks for a longer wait than the App's bound", async () => {
  const o = client();
  api.clearRequests();
  api.failNext({ kind: "secondary", retryAfter: DEFAULT_PACING.maxWaitSeconds + 1 });
  await expect(blob(o, "limited")).rejects.toThrow(/secondary rate limit/);
  expect(api.requests().map((r) => r.status)).toEqual([403]);
});
