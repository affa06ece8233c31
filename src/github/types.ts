import type { ProbotOctokit } from "probot";

/** The installation-authenticated client a webhook context carries (REST + GraphQL + paginate + config). */
export type Octokit = ProbotOctokit;

/** Which repository every call in src/github is about. */
export interface RepoCoords {
  owner: string;
  repo: string;
}

/** The check run's fixed name: branch protection rules refer to it. */
export const CHECK_NAME = "nomad-gitops";
/** The merge commit's run when Nomad refused a submit (apart from the deploy's attempt-keyed runs). */
export const ROLLOUT_CHECK_NAME = "nomad-gitops/rollout";

/** Commit-message trailer naming the build a bot commit was made from; also how the bot knows its own commits. */
export { BUILD_TRAILER } from "../core/render.js";

/** GitHub refuses check-run summaries and PR bodies above 65535 characters. */
export const GITHUB_TEXT_LIMIT = 65_535;

/** Cuts a markdown text to GitHub's limit, saying so at the end rather than failing the whole request. */
export function fitText(text: string, limit = GITHUB_TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  const note = "\n\n… (truncated: the full plan is longer than GitHub accepts)";
  return text.slice(0, limit - note.length) + note;
}

/** What every repository operation needs: the client and the repository it is about. */
export interface RepoApi {
  readonly octokit: Octokit;
  readonly coords: RepoCoords;
}
