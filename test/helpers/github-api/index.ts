// A GitHub API stand-in on loopback for tests and benchmarks that cross a process boundary (the App
// under `probot run`, the Action's bundled entry): see README.md beside this file.
export { GitHubStandIn, startGitHubApi } from "./server.js";
export type { ApiRequest, Delivery, LimitRule, StandInOptions } from "./server.js";
export type { CheckRun, Commit, Deployment, PullRequest, Repo } from "./store.js";
export {
  issueEditedPayload,
  pullRequestClosedPayload,
  pushPayload,
  sendPullRequestClosed,
  sendPush,
  sendWorkflowRun,
  workflowRunPayload,
} from "./events.js";
