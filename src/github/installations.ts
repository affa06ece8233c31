// The App's installations and their repositories: where a replica that starts looks for rollout
// follow-ups to resume.
import type { Octokit, RepoCoords } from "./types.js";

/** Every installation of the App (the App's own JWT-authenticated Octokit). */
export async function listInstallations(appOctokit: Octokit): Promise<number[]> {
  const all = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  return all.map((i) => i.id);
}

/** The repositories an installation can reach (its installation Octokit), unarchived ones only. */
export async function listInstallationRepos(octokit: Octokit): Promise<RepoCoords[]> {
  const repos = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, {
    per_page: 100,
  });
  return repos.filter((r) => !r.archived).map((r) => ({ owner: r.owner.login, repo: r.name }));
}
