// The Action's GitHub client: the App's (github/octokit.ts), with the workflow's token, on the runner's
// API (GITHUB_API_URL, for GitHub Enterprise Server), its write budget keyed by the repository.
import { octokitForToken } from "../github/octokit.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import type { Env } from "./run.js";

export function actionOctokit(env: Env, token: string, coords: RepoCoords): Octokit {
  return octokitForToken(token, {
    ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
    repository: `${coords.owner}/${coords.repo}`,
  });
}
