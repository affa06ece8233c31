// Telling GitHub's errors apart: HTTP status, GraphQL errors, a ref that moved under the bot.

/** The ref moved between reading and writing it: nothing was written, the caller may re-plan. */
export class RefRaceError extends Error {
  constructor(
    readonly ref: string,
    message: string,
  ) {
    super(message);
    this.name = "RefRaceError";
  }
}

export function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
    ? error.status
    : undefined;
}

export function isGraphqlError(error: unknown): error is Error & { errors: unknown[] } {
  return error instanceof Error && "errors" in error && Array.isArray(error.errors);
}

export function isUnknownMutation(error: Error & { errors: unknown[] }): boolean {
  return error.errors.some((e) => {
    const { message, extensions } = e as { message?: string; extensions?: { code?: string } };
    return (
      extensions?.code === "undefinedField" ||
      /updateRefs.*doesn't exist|doesn't exist.*updateRefs/.test(message ?? "")
    );
  });
}

/** GitHub's refusal of a permission the token lacks (`Resource not accessible by integration`). */
export const NOT_ACCESSIBLE = "Resource not accessible by integration";

/** A GitHub permission as the API names it (`pull_requests`), and the access it needs. */
export interface PermissionNeed {
  permission: string;
  level: "read" | "write";
}

/**
 * The permission sets GitHub accepts for the route that refused, from `X-Accepted-GitHub-Permissions`
 * (`pull_requests=write; issues=write`: either set; a set may name several, comma-separated).
 */
export function acceptedPermissions(error: unknown): PermissionNeed[][] {
  const headers = (error as { response?: { headers?: Record<string, unknown> } } | null)?.response?.headers;
  const value = headers?.["x-accepted-github-permissions"];
  if (typeof value !== "string" || !value.trim()) return [];
  return value.split(";").map((set) =>
    set
      .split(",")
      .map((pair) => pair.trim().split("="))
      .filter((p): p is [string, string] => p.length === 2 && Boolean(p[0]))
      .map(([permission, level]) => ({ permission, level: level === "read" ? "read" : "write" })),
  );
}

/** A 403 (REST) or FORBIDDEN (GraphQL) that says the token lacks a permission, not a rate limit. */
export function isMissingPermission(error: unknown): boolean {
  if (isGraphqlError(error))
    return error.errors.some((e) => {
      const { type, message } = e as { type?: string; message?: string };
      return type === "FORBIDDEN" || (message ?? "").includes(NOT_ACCESSIBLE);
    });
  if (statusOf(error) !== 403) return false;
  return acceptedPermissions(error).length > 0 || messageOf(error).includes(NOT_ACCESSIBLE);
}

/** How a workflow asks for a permission: `pull-requests: write` under `permissions:`. */
export function workflowLine(need: PermissionNeed): string {
  return `${need.permission.replace(/_/g, "-")}: ${need.level}`;
}

/** How the App's settings name it: "Pull requests: Read and write". */
export function appSetting(need: PermissionNeed): string {
  const name = need.permission.replace(/_/g, " ");
  return `${name[0]!.toUpperCase()}${name.slice(1)}: ${need.level === "write" ? "Read and write" : "Read-only"}`;
}

/** What to add, for both shells: the workflow's `permissions:` line and the App's permission. */
export function permissionRemedy(needs: PermissionNeed[]): string {
  const lines = needs.map(workflowLine).join(", ");
  const settings = needs.map((n) => `"${appSetting(n)}"`).join(", ");
  return (
    `in a workflow, add \`${lines}\` under the job's \`permissions:\`; ` +
    `for the App, grant ${settings} in its settings and accept the new permissions in the installation`
  );
}

/**
 * A person-actionable sentence for a GitHub error: a missing permission names what the route accepts
 * and how to grant it; anything else is the method, route, status and GitHub's own message.
 */
export function describeGitHubError(error: unknown): string {
  const where = requestOf(error);
  if (isMissingPermission(error)) {
    const sets = acceptedPermissions(error);
    const wanted =
      sets.length > 0 ? sets.map((s) => s.map((n) => `${n.permission}=${n.level}`).join(" + ")) : [];
    const needs = sets[0] ?? [];
    return [
      `GitHub refused ${where || "a request"} (${NOT_ACCESSIBLE}): the token lacks a permission`,
      wanted.length > 0 ? `; GitHub accepts ${wanted.join(" or ")}` : "",
      needs.length > 0 ? `. To fix: ${permissionRemedy(needs)}` : "",
    ].join("");
  }
  const status = statusOf(error);
  return status !== undefined && where
    ? `GitHub answered ${status} to ${where}: ${messageOf(error)}`
    : messageOf(error);
}

function messageOf(error: unknown): string {
  // Octokit appends GitHub's documentation_url to the message: the route and status already say where.
  return (error instanceof Error ? error.message : String(error)).replace(
    / - https:\/\/docs\.github\.com\/\S*$/,
    "",
  );
}

function requestOf(error: unknown): string {
  const request = (error as { request?: { method?: string; url?: string } } | null)?.request;
  if (!request?.method || !request.url) return "";
  const path = new URL(request.url, "http://github.invalid").pathname.replace(/^\/api\/v3/, "");
  return `${request.method} ${path}`;
}
