// The optional draft GitHub release of a deploy (`release_notes.github_release: draft`): every service's
// digest, moved or not, so anyone can rebuild the commit and compare. One per build, found by a marker.
import { fitText, type Octokit, type RepoCoords } from "./types.js";

export const releaseMarker = (sha: string) => `<!-- nomad-gitops:release-draft ${sha} -->`;

export interface ReleaseDigest {
  service: string;
  image: string;
  digest: string | null;
  status: string;
}

export function renderReleaseBody(
  build: { sha: string; branch: string },
  digests: ReleaseDigest[],
  notes: string,
): string {
  const rows = digests.map(
    (d) => `| ${d.service} | \`${d.image}\` | ${d.digest ? `\`${d.digest}\`` : "—"} | ${d.status} |`,
  );
  return [
    releaseMarker(build.sha),
    `Images of \`${build.branch}\` at ${build.sha}. Rebuild that commit and compare these digests to check that the build is reproducible.`,
    "",
    "| service | image | digest | status |",
    "|---|---|---|---|",
    ...rows,
    "",
    notes.trim(),
    "",
  ].join("\n");
}

export class DraftReleases {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  /** Creates the draft for `sha`, or updates it when its body differs; drafts are only visible to writers. */
  async upsert(sha: string, name: string, body: string): Promise<"created" | "updated" | "unchanged"> {
    const text = fitText(body, 125_000);
    const { data } = await this.octokit.rest.repos.listReleases({ ...this.coords, per_page: 30 });
    const existing = data.find((r) => r.draft && (r.body ?? "").includes(releaseMarker(sha)));
    if (existing) {
      if (existing.body === text && existing.name === name) return "unchanged";
      await this.octokit.rest.repos.updateRelease({
        ...this.coords,
        release_id: existing.id,
        name,
        body: text,
      });
      return "updated";
    }
    await this.octokit.rest.repos.createRelease({
      ...this.coords,
      tag_name: `deploy-${sha.slice(0, 7)}`,
      target_commitish: sha,
      name,
      body: text,
      draft: true,
    });
    return "created";
  }
}
