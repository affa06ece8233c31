// Webhook payloads for the stand-in's repositories: GitHub's own examples (@octokit/webhooks-examples)
// re-pointed at a stand-in repository, its installation and its real commits, so every field GitHub sends
// is present. `send*` builds and delivers in one step.
import { createRequire } from "node:module";
import type { GitHubStandIn, Delivery } from "./server.js";

type Json = Record<string, unknown>;
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as Array<{
  name: string;
  examples: Json[];
}>;

function example(name: string, pick: (e: Json) => boolean): Json {
  const found = examples.find((d) => d.name === name)?.examples.find(pick);
  if (!found) throw new Error(`no ${name} example matches`);
  return structuredClone(found);
}

function repository(api: GitHubStandIn, fullName: string, base: unknown): Json {
  const repo = api.repo(fullName);
  return {
    ...(base as Json),
    id: repo.id,
    node_id: repo.nodeId,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    default_branch: repo.defaultBranch,
    html_url: `https://github.com/${repo.owner}/${repo.name}`,
    owner: {
      ...((base as { owner?: object }).owner ?? {}),
      login: repo.owner,
      name: repo.owner,
      type: "Organization",
    },
  };
}

const installation = (api: GitHubStandIn, fullName: string) => ({
  id: api.installationOf(api.repo(fullName).owner),
  node_id: `standin-installation-${api.installationOf(api.repo(fullName).owner)}`,
});

/** A push of `branch` from `before` to its current head. */
export function pushPayload(api: GitHubStandIn, fullName: string, branch: string, before?: string): Json {
  const repo = api.repo(fullName);
  const after = repo.refs.get(`refs/heads/${branch}`);
  if (!after) throw new Error(`no branch ${branch} in ${fullName}`);
  const payload = example("push", (e) => e.installation !== undefined && e.ref === "refs/heads/master");
  return Object.assign(payload, {
    ref: `refs/heads/${branch}`,
    before: before ?? api.store.commits.get(after)!.parents[0] ?? "0".repeat(40),
    after,
    created: false,
    deleted: false,
    forced: false,
    repository: repository(api, fullName, payload.repository),
    installation: installation(api, fullName),
  });
}

/**
 * The build workflow of `sha` finished. `event` is what started the run (GitHub's `workflow_run.event`):
 * `push` by default; `workflow_run` for a workflow started by another's completion (a rebuild).
 */
export function workflowRunPayload(
  api: GitHubStandIn,
  fullName: string,
  input: {
    sha: string;
    branch?: string;
    conclusion?: "success" | "failure" | "cancelled";
    workflow?: string;
    runId?: number;
    attempt?: number;
    event?: "push" | "workflow_dispatch" | "workflow_run";
  },
): Json {
  const repo = api.repo(fullName);
  const payload = example("workflow_run", (e) => e.action === "completed");
  const path = `.github/workflows/${input.workflow ?? "images.yml"}`;
  const run = payload.workflow_run as Json;
  const runId = input.runId ?? api.store.id();
  const commit = api.store.commits.get(input.sha);
  const repoJson = repository(api, fullName, run.repository);
  Object.assign(run, {
    id: runId,
    run_number: runId,
    run_attempt: input.attempt ?? 1,
    head_sha: input.sha,
    head_branch: input.branch ?? repo.defaultBranch,
    conclusion: input.conclusion ?? "success",
    status: "completed",
    event: input.event ?? "push",
    path,
    html_url: `https://github.com/${fullName}/actions/runs/${runId}`,
    head_commit: {
      ...(run.head_commit as object),
      id: input.sha,
      timestamp: commit?.committer.date ?? new Date().toISOString(),
    },
    repository: repoJson,
    head_repository: repoJson,
  });
  return Object.assign(payload, {
    workflow: { ...(payload.workflow as object), path },
    repository: repository(api, fullName, payload.repository),
    installation: installation(api, fullName),
  });
}

/** A PR of the stand-in closed (merged or not). */
export function pullRequestClosedPayload(api: GitHubStandIn, fullName: string, number: number): Json {
  const repo = api.repo(fullName);
  const pr = repo.pulls.find((p) => p.number === number);
  if (!pr) throw new Error(`no PR #${number} in ${fullName}`);
  const payload = example("pull_request", (e) => e.action === "closed" && e.installation !== undefined);
  const repoJson = repository(api, fullName, payload.repository);
  const base = payload.pull_request as Json;
  Object.assign(base, {
    number,
    title: pr.title,
    body: pr.body,
    state: "closed",
    merged: pr.merged,
    merge_commit_sha: pr.mergeCommitSha,
    head: { ...(base.head as object), ref: pr.head, sha: pr.headSha, repo: repoJson },
    base: {
      ...(base.base as object),
      ref: pr.base,
      sha: repo.refs.get(`refs/heads/${pr.base}`),
      repo: repoJson,
    },
  });
  return Object.assign(payload, {
    action: "closed",
    number,
    repository: repoJson,
    installation: installation(api, fullName),
  });
}

/**
 * An issue's body edited to `body` (the stand-in's issue takes it first, as GitHub's does), by a person
 * (`sender` login) or by the App itself (`"bot"`). `updatedAt` names the edit (a redelivery repeats it).
 */
export function issueEditedPayload(
  api: GitHubStandIn,
  fullName: string,
  input: { number: number; body: string; sender: string | "bot"; updatedAt?: string },
): Json {
  const repo = api.repo(fullName);
  const issue = repo.issues.find((i) => i.number === input.number);
  if (!issue) throw new Error(`no issue #${input.number} in ${fullName}`);
  const before = issue.body;
  issue.body = input.body;
  issue.updatedAt = input.updatedAt ?? new Date().toISOString();
  const payload = example("issues", (e) => e.action === "edited");
  const repoJson = repository(api, fullName, payload.repository);
  const sender =
    input.sender === "bot"
      ? { login: `${api.appSlug}[bot]`, type: "Bot" }
      : { login: input.sender, type: "User" };
  return Object.assign(payload, {
    action: "edited",
    issue: {
      ...(payload.issue as Json),
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      user: { login: issue.user.login, type: issue.user.type },
      html_url: `https://github.com/${fullName}/issues/${issue.number}`,
      updated_at: issue.updatedAt,
      pull_request: undefined,
    },
    changes: { body: { from: before } },
    sender: { ...(payload.sender as Json), ...sender },
    repository: repoJson,
    installation: installation(api, fullName),
  });
}

export const sendPush = (api: GitHubStandIn, fullName: string, branch: string): Promise<Delivery> =>
  api.deliver("push", pushPayload(api, fullName, branch));

export const sendWorkflowRun = (
  api: GitHubStandIn,
  fullName: string,
  input: Parameters<typeof workflowRunPayload>[2],
): Promise<Delivery> => api.deliver("workflow_run", workflowRunPayload(api, fullName, input));

export const sendPullRequestClosed = (
  api: GitHubStandIn,
  fullName: string,
  number: number,
): Promise<Delivery> => api.deliver("pull_request", pullRequestClosedPayload(api, fullName, number));
