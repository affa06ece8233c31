// The optional draft GitHub release of a deploy (`release_notes.github_release: draft`), one per build,
// found by a marker in its body (core/render.ts writes the body).
import { releaseMarker } from "../core/render.js";
import { shortSha } from "../core/templates.js";
import { fitText, type Octokit, type RepoCoords } from "./types.js";
import { type UpsertAction, upsert } from "./upsert.js";

export class DraftReleases {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  /** Creates the draft for `sha`, or updates it when its body differs; drafts are only visible to writers. */
  async upsert(sha: string, name: string, body: string): Promise<UpsertAction> {
    const { action } = await upsert(
      {
        find: async () => {
          const { data } = await this.octokit.rest.repos.listReleases({ ...this.coords, per_page: 30 });
          return data.find((r) => r.draft && (r.body ?? "").includes(releaseMarker(sha))) ?? null;
        },
        same: (found, want) => found.body === want.body && found.name === want.name,
        create: async (want) => {
          await this.octokit.rest.repos.createRelease({
            ...this.coords,
            tag_name: `deploy-${shortSha(sha)}`,
            target_commitish: sha,
            ...want,
            draft: true,
          });
        },
        update: async (found, want) => {
          await this.octokit.rest.repos.updateRelease({ ...this.coords, release_id: found.id, ...want });
        },
        keep: () => undefined,
      },
      { name, body: fitText(body, 125_000) },
    );
    return action;
  }
}
