// Who the App is on GitHub: its bot account, which authors the dashboard issue and the comments the
// App looks for among others'.
import type { Octokit } from "./types.js";

/** The App's bot login (`<slug>[bot]`), asked with the App's own JWT; undefined when GitHub names no slug. */
export async function appBotLogin(appOctokit: Octokit): Promise<string | undefined> {
  const { data } = await appOctokit.rest.apps.getAuthenticated();
  return data?.slug ? `${data.slug}[bot]` : undefined;
}
