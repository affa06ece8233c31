// A GitHub client from a plain token (the Action's workflow token) with the same plugins as the App's
// installation client: REST, GraphQL, pagination, retries, and throttling that spaces writes as GitHub asks.
import { ProbotOctokit } from "probot";
import type { Octokit } from "./types.js";

export function octokitForToken(token: string, baseUrl = "https://api.github.com"): Octokit {
  return new ProbotOctokit({ auth: { token }, baseUrl }) as Octokit;
}
