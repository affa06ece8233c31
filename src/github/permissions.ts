// What the token may write, checked before a deploy's first write, so a missing permission stops the run
// with the permission named instead of leaving a branch moved and its PR text behind.
//
// The App knows its installation's permissions exactly: GitHub returns them with the installation token
// (`POST /app/installations/{id}/access_tokens`), and @octokit/auth-app keeps them with the cached token,
// so asking costs no request. A workflow's GITHUB_TOKEN cannot be asked: no endpoint lists its permissions
// (`GET /repos/{owner}/{repo}` answers `permissions` all false for it), only the job log shows them. The
// Action therefore probes: one request per write permission, on a route that needs it, with a body GitHub
// must refuse (a PR from a branch into itself, a tree naming a blob that cannot exist, an issue without a
// title). GitHub checks the token's permission first, so a missing one answers 403 with
// `X-Accepted-GitHub-Permissions`, and a granted one 422: nothing is created either way. A probe that
// answers anything else proves nothing and stops nothing; the write order (handlers/deploy.ts) still keeps
// GitHub consistent if a later write is refused.
import type { PermissionNeed } from "./errors.js";
import { appSetting, isMissingPermission, workflowLine } from "./errors.js";
import type { Octokit, RepoCoords } from "./types.js";

export interface DeployNeed extends PermissionNeed {
  /** What the deploy writes with it, for the message. */
  why: string;
}

/** Where the token comes from: says how to grant a permission. */
export type TokenKind = "workflow" | "app";

/** The write permissions a deploy uses (the check run's `checks: write` is its first write, refused alone). */
export function deployNeeds(config: {
  dashboard: boolean;
  release_notes: { github_release: string | boolean };
}): DeployNeed[] {
  return [
    {
      permission: "contents",
      level: "write",
      why: `the commit on the deploy branch${config.release_notes.github_release === "draft" ? " and the release draft" : ""}`,
    },
    { permission: "pull_requests", level: "write", why: "the deploy PR, its labels and its sticky comment" },
    ...(config.dashboard
      ? [
          {
            permission: "issues",
            level: "write" as const,
            why: "the deploy dashboard issue (`dashboard: true`)",
          },
        ]
      : []),
  ];
}

export interface PermissionCheck {
  readonly kind: TokenKind;
  /** The needs the token is known not to meet ([] when all are met or cannot be known). */
  missing(needs: DeployNeed[]): Promise<DeployNeed[]>;
}

/** The token lacks permissions the deploy needs; raised before any deploy write. */
export class MissingPermissionError extends Error {
  constructor(
    readonly missing: DeployNeed[],
    readonly kind: TokenKind,
  ) {
    super(missingMessage(missing, kind));
    this.name = "MissingPermissionError";
  }
}

function missingMessage(missing: DeployNeed[], kind: TokenKind): string {
  // Named as the reader will write it: `pull-requests` in a workflow, `pull_requests` for the App.
  const name = (n: DeployNeed) => (kind === "workflow" ? workflowLine(n) : `${n.permission}: ${n.level}`);
  const list = missing.map((n) => `\`${name(n)}\` (${n.why})`).join(", ");
  if (kind === "workflow") {
    const lines = missing.map((n) => `    ${workflowLine(n)}`).join("\n");
    return `the workflow's token lacks ${list}. Add to the job (or workflow):\n  permissions:\n${lines}\n(with a \`permissions:\` block, every permission not listed is none: keep \`contents: write\`, \`pull-requests: write\` and \`checks: write\`). Nothing was written to the repository: the permissions are checked before its first write (branch, PR, comment).`;
  }
  const settings = missing.map((n) => `"${appSetting(n)}"`).join(", ");
  return `the App's installation lacks ${list}. Grant ${settings} under Repository permissions in the App's settings, then accept the new permissions in the installation (Settings → Integrations → GitHub Apps → Configure). Nothing was written to the repository: the permissions are checked before its first write (branch, PR, comment).`;
}

const RANK = { none: 0, read: 1, write: 2, admin: 3 } as const;

function meets(granted: string | undefined, level: PermissionNeed["level"]): boolean {
  return (RANK[granted as keyof typeof RANK] ?? 0) >= RANK[level];
}

/** Throws {@link MissingPermissionError} when the token lacks what this deploy writes with. */
export async function assertPermissions(
  check: PermissionCheck,
  config: Parameters<typeof deployNeeds>[0],
  retagOnly = false,
): Promise<void> {
  // The dashboard's "retag unchanged now" writes the registry and the dashboard only.
  const needs = deployNeeds(config).filter((n) => !retagOnly || n.permission === "issues");
  const missing = await check.missing(needs);
  if (missing.length > 0) throw new MissingPermissionError(missing, check.kind);
}

/** The App: the permissions GitHub returned with the installation token (no request). */
export function installationPermissions(octokit: Octokit): PermissionCheck {
  return {
    kind: "app",
    async missing(needs) {
      const auth = (await octokit.auth({ type: "installation" }).catch(() => null)) as {
        permissions?: Record<string, string>;
      } | null;
      const granted = auth?.permissions;
      // Unknown (a plain token, or GitHub sent none): nothing can be said up front.
      if (!granted || Object.keys(granted).filter(Boolean).length === 0) return [];
      return needs.filter((n) => !meets(granted[n.permission], n.level));
    },
  };
}

const ZERO_OID = "0000000000000000000000000000000000000000";

/** The Action: one refused-by-design request per write permission (see the top of this file). */
export function probedPermissions(octokit: Octokit, coords: RepoCoords, branch: string): PermissionCheck {
  const probes: Record<string, () => Promise<unknown>> = {
    contents: () =>
      octokit.rest.git.createTree({
        ...coords,
        tree: [{ path: ".nomad-gitops-permission-probe", mode: "100644", type: "blob", sha: ZERO_OID }],
      }),
    pull_requests: () =>
      octokit.rest.pulls.create({
        ...coords,
        head: branch,
        base: branch,
        title: "nomad-gitops permission probe",
      }),
    issues: () => octokit.rest.issues.create({ ...coords, title: "" }),
  };
  return {
    kind: "workflow",
    async missing(needs) {
      const refused = await Promise.all(
        needs.map(async (need) => {
          const probe = probes[need.permission];
          if (!probe) return false;
          try {
            await probe();
            return false;
          } catch (error) {
            return isMissingPermission(error);
          }
        }),
      );
      return needs.filter((_, i) => refused[i]);
    },
  };
}
