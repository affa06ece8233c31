// The sticky comment: one per PR, found by a hidden marker and by being the bot's own, edited in place.
import { COMMENT_MARKER } from "../core/render.js";
import { fitText, type Octokit, type RepoCoords } from "./types.js";
import { type UpsertAction, upsert } from "./upsert.js";

export class StickyComment {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
    readonly marker = COMMENT_MARKER,
  ) {}

  /** Writes `body` (the marker is added when missing); nothing is sent when the comment already says it. */
  async upsert(issueNumber: number, body: string): Promise<{ id: number; action: UpsertAction }> {
    return this.write(issueNumber, await this.find(issueNumber), body);
  }

  /** {@link upsert} once the comment was looked for: the caller knows whether an older text exists. */
  async write(
    issueNumber: number,
    found: { id: number; body: string } | null,
    body: string,
  ): Promise<{ id: number; action: UpsertAction }> {
    const text = fitText(body.includes(this.marker) ? body : `${this.marker}\n${body}`);
    const { action, result } = await upsert(
      {
        find: () => found,
        same: (found, want) => found.body === want,
        create: async (want) =>
          (
            await this.octokit.rest.issues.createComment({
              ...this.coords,
              issue_number: issueNumber,
              body: want,
            })
          ).data.id,
        update: async (found, want) => {
          await this.octokit.rest.issues.updateComment({ ...this.coords, comment_id: found.id, body: want });
          return found.id;
        },
        keep: (found) => found.id,
      },
      text,
    );
    return { id: result, action };
  }

  /** The bot's comment carrying the marker. A human quoting the marker is not it (their comment is not a Bot's). */
  async find(issueNumber: number): Promise<{ id: number; body: string } | null> {
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      ...this.coords,
      issue_number: issueNumber,
      per_page: 100,
    });
    const mine = comments.find((c) => c.user?.type === "Bot" && (c.body ?? "").includes(this.marker));
    return mine ? { id: mine.id, body: mine.body ?? "" } : null;
  }
}
