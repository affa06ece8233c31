// The one rolling deploy PR, found by its head branch (so no state outside GitHub), updated in place.
import { type Octokit, type RepoCoords, fitText } from "./types.js";
import { type UpsertAction, upsert } from "./upsert.js";

export interface PullRequestInfo {
  number: number;
  title: string;
  body: string;
  labels: string[];
  headSha: string;
  url: string;
}

export interface ChangedFile {
  path: string;
  /** added, removed, modified, renamed, copied, changed, unchanged */
  status: string;
  previousPath?: string;
}

export class PullRequests {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  /** The open PR from `head` into `base`, or null. */
  async findOpen(head: string, base: string): Promise<PullRequestInfo | null> {
    const { data } = await this.octokit.rest.pulls.list({
      ...this.coords,
      state: "open",
      head: `${this.coords.owner}:${head}`,
      base,
      per_page: 1,
    });
    const pr = data[0];
    if (!pr) return null;
    return {
      number: pr.number,
      title: pr.title,
      body: pr.body ?? "",
      labels: pr.labels.map((l) => l.name),
      headSha: pr.head.sha,
      url: pr.html_url,
    };
  }

  /** Creates the PR, or updates title/body only when they differ (redelivery writes nothing). */
  async upsert(input: {
    existing: PullRequestInfo | null;
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<{ number: number; url: string; action: UpsertAction }> {
    const { action, result } = await upsert(
      {
        find: () => input.existing,
        same: (pr, want) => pr.title === want.title && pr.body === want.body,
        create: async (want) => {
          const { data } = await this.octokit.rest.pulls.create({
            ...this.coords,
            head: input.head,
            base: input.base,
            ...want,
            maintainer_can_modify: false,
          });
          return { number: data.number, url: data.html_url };
        },
        update: async (pr, want) => {
          await this.octokit.rest.pulls.update({ ...this.coords, pull_number: pr.number, ...want });
          return { number: pr.number, url: pr.url };
        },
        keep: (pr) => ({ number: pr.number, url: pr.url }),
      },
      { title: input.title, body: fitText(input.body) },
    );
    return { ...result, action };
  }

  /** Puts back the title and body `pr` had (after a later write failed). */
  async restoreText(pr: PullRequestInfo): Promise<void> {
    await this.octokit.rest.pulls.update({
      ...this.coords,
      pull_number: pr.number,
      title: pr.title,
      body: pr.body,
    });
  }

  /** Adds the labels the PR lacks, one request or none. */
  async addLabels(number: number, have: string[], want: string[]): Promise<void> {
    const missing = want.filter((l) => !have.includes(l));
    if (missing.length === 0) return;
    await this.octokit.rest.issues.addLabels({ ...this.coords, issue_number: number, labels: missing });
  }

  /** Files the PR changes (every page); a renamed file also names its old path. */
  async changedFiles(number: number): Promise<ChangedFile[]> {
    const files = await this.octokit.paginate(this.octokit.rest.pulls.listFiles, {
      ...this.coords,
      pull_number: number,
      per_page: 100,
    });
    return files.map((f) => ({
      path: f.filename,
      status: f.status,
      ...(f.previous_filename ? { previousPath: f.previous_filename } : {}),
    }));
  }

  /** Closes the PR after saying why. */
  async close(number: number, comment: string): Promise<void> {
    await this.octokit.rest.issues.createComment({
      ...this.coords,
      issue_number: number,
      body: fitText(comment),
    });
    await this.octokit.rest.pulls.update({ ...this.coords, pull_number: number, state: "closed" });
  }
}
