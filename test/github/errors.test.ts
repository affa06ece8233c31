// GitHub's refusals told apart and said so a person can act: a missing permission (403 with
// X-Accepted-GitHub-Permissions, or GraphQL FORBIDDEN) names what to grant; a rate limit is not one.
import { RequestError } from "@octokit/request-error";
import { describe, expect, it } from "vitest";
import { acceptedPermissions, describeGitHubError, isMissingPermission } from "../../src/github/errors.js";

const refused = (status: number, message: string, headers: Record<string, string> = {}) =>
  new RequestError(
    `${message} - https://docs.github.com/rest/issues/comments#create-an-issue-comment`,
    status,
    {
      request: {
        method: "POST",
        url: "https://api.github.com/repos/acme/shop/issues/7/comments",
        headers: { authorization: "token [REDACTED]" },
      },
      response: { status, url: "", headers, data: { message } },
    },
  );

describe("GitHub errors", () => {
  it("a 403 with X-Accepted-GitHub-Permissions names every accepted set and how to grant the first", () => {
    const error = refused(403, "Resource not accessible by integration", {
      "x-accepted-github-permissions": "issues=write; pull_requests=write",
    });
    expect(acceptedPermissions(error)).toEqual([
      [{ permission: "issues", level: "write" }],
      [{ permission: "pull_requests", level: "write" }],
    ]);
    expect(isMissingPermission(error)).toBe(true);
    expect(describeGitHubError(error)).toBe(
      'GitHub refused POST /repos/acme/shop/issues/7/comments (Resource not accessible by integration): the token lacks a permission; GitHub accepts issues=write or pull_requests=write. To fix: in a workflow, add `issues: write` under the job\'s `permissions:`; for the App, grant "Issues: Read and write" in its settings and accept the new permissions in the installation',
    );
  });

  it("a secondary rate limit (403 without the header) is not a missing permission", () => {
    const error = refused(403, "You have exceeded a secondary rate limit");
    expect(isMissingPermission(error)).toBe(false);
    expect(describeGitHubError(error)).toBe(
      "GitHub answered 403 to POST /repos/acme/shop/issues/7/comments: You have exceeded a secondary rate limit",
    );
  });

  it("a GraphQL FORBIDDEN error is a missing permission", () => {
    const error = Object.assign(new Error("Resource not accessible by integration"), {
      errors: [
        { type: "FORBIDDEN", path: ["updateRefs"], message: "Resource not accessible by integration" },
      ],
    });
    expect(isMissingPermission(error)).toBe(true);
  });
});
