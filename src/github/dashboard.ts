// The deploy dashboard issue: one per repository, found by the hidden marker of the bot's section in an
// issue the bot opened, edited in place (never re-created, open or closed), with the text a person
// wrote around the section kept.
import {
  DASHBOARD_START,
  DASHBOARD_TITLE,
  type DigestMove,
  type FileHistory,
  lastMoves,
  mergeDashboard,
  pinningFiles,
} from "../core/dashboard.js";
import type { Plan } from "../core/plan.js";
import type { GitHubRepo } from "./repo.js";
import { type Octokit, type RepoCoords, fitText } from "./types.js";
import { type UpsertAction, upsert } from "./upsert.js";

export interface DashboardIssueInfo {
  number: number;
  body: string;
  url: string;
  /** GitHub's `updated_at`: names the edit that holds the body read. */
  updatedAt?: string;
}

export class DashboardIssue {
  /**
   * @param creator the bot's login (`<app-slug>[bot]`, `github-actions[bot]`): GitHub then lists only its
   *   issues. Without it every issue is listed and the first bot-made one with the marker is taken.
   */
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
    readonly creator?: string,
  ) {}

  async find(): Promise<DashboardIssueInfo | null> {
    const issues = await this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
      ...this.coords,
      state: "all",
      sort: "created",
      direction: "asc",
      per_page: 100,
      ...(this.creator ? { creator: this.creator } : {}),
    });
    const mine = issues.find(
      (i) =>
        !i.pull_request &&
        i.user?.type === "Bot" &&
        (this.creator === undefined || i.user.login === this.creator) &&
        (i.body ?? "").includes(DASHBOARD_START),
    );
    return mine ? { number: mine.number, body: mine.body ?? "", url: mine.html_url } : null;
  }

  /**
   * Puts `section` into the dashboard issue (created the first time); nothing is sent when the issue
   * already says it. `found` saves the lookup when the caller already has the issue.
   */
  async upsert(
    section: string,
    found?: DashboardIssueInfo | null,
  ): Promise<{ number: number; url: string; action: UpsertAction }> {
    const { action, result } = await upsert(
      {
        find: () => (found === undefined ? this.find() : found),
        same: (issue, want) => issue.body === mergeDashboard(issue.body, want),
        create: async (want) => {
          const { data } = await this.octokit.rest.issues.create({
            ...this.coords,
            title: DASHBOARD_TITLE,
            body: fitText(mergeDashboard(null, want)),
          });
          return { number: data.number, url: data.html_url };
        },
        update: (issue, want) => this.setBody(issue, mergeDashboard(issue.body, want)),
        keep: (issue) => ({ number: issue.number, url: issue.url }),
      },
      section,
    );
    return { ...result, action };
  }

  /** The issue as it is now. */
  async get(number: number): Promise<DashboardIssueInfo> {
    const { data } = await this.octokit.rest.issues.get({ ...this.coords, issue_number: number });
    return { number: data.number, body: data.body ?? "", url: data.html_url, updatedAt: data.updated_at };
  }

  async setBody(issue: DashboardIssueInfo, body: string): Promise<{ number: number; url: string }> {
    await this.octokit.rest.issues.update({
      ...this.coords,
      issue_number: issue.number,
      body: fitText(body),
    });
    return { number: issue.number, url: issue.url };
  }
}

/** Texts read per job file, newest commit first, to find where its pinned digest first appears. */
const COMMITS_READ_PER_FILE = 10;
/** What one `history` alias returns (GitHubRepo.history): fewer means the file's whole history. */
const HISTORY_PAGE = 100;

/**
 * When each service's pinned digest last moved, from the history of the job files at `head`: one GraphQL
 * query for the commits touching every such file (GitHubRepo.history, as the release notes use), one for
 * their texts at the newest 10 commits each (per 250 files or texts), whatever the number of services.
 */
export async function digestMoves(
  repo: Pick<GitHubRepo, "history" | "readBlobs">,
  head: string,
  plan: Plan,
): Promise<Record<string, DigestMove>> {
  const files = [
    ...new Set(plan.services.flatMap((s) => (s.old.digest ? pinningFiles(s, s.old.digest) : []))),
  ].sort();
  if (files.length === 0) return {};
  const found = await repo.history(head, files);
  const histories = new Map<string, FileHistory>();
  const expressions: string[] = [];
  for (const file of files) {
    const listed = found.get(file) ?? [];
    const commits = listed.flatMap((c) => (c.date ? [{ sha: c.sha, date: c.date }] : []));
    histories.set(file, { commits, complete: listed.length < HISTORY_PAGE });
    for (const c of commits.slice(0, COMMITS_READ_PER_FILE)) expressions.push(`${c.sha}:${file}`);
  }
  const texts = await repo.readBlobs(expressions);
  return lastMoves(plan, histories, (sha, path) => {
    const text = texts.get(`${sha}:${path}`);
    // Not read (undefined) or not readable as text: unknown, so the walk stops with an upper bound.
    if (text === undefined || text === null) return text;
    return typeof text === "string" ? text : undefined;
  });
}
