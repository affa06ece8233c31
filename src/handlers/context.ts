import type { Context } from "probot";
import type { RepoCoords } from "../github/types.js";

/** owner/repo of the event's repository. */
export function coordsOf(context: Context): RepoCoords {
  const repo = (context.payload as { repository?: { owner: { login: string }; name: string } }).repository;
  if (!repo) throw new Error(`${context.name} event without a repository`);
  return { owner: repo.owner.login, repo: repo.name };
}
