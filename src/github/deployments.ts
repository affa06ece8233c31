// GitHub's deployments API behind the small DeploymentsPort rollouts use.
import type { Octokit, RepoCoords } from "./types.js";
import type { DeploymentState, DeploymentsPort, ExistingDeployment } from "../core/ports.js";

/** A GitHub deployment status state, for each way a rollout can stand (and "error": it could not be asked). */
export const DEPLOYMENT_STATE = {
  queued: "queued",
  in_progress: "in_progress",
  success: "success",
  failure: "failure",
  inactive: "inactive",
  error: "error",
} as const satisfies Record<DeploymentState, DeploymentStatusState>;

type DeploymentStatusState =
  "error" | "failure" | "inactive" | "in_progress" | "queued" | "pending" | "success";

export class GitHubDeployments implements DeploymentsPort {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  async create(input: Parameters<DeploymentsPort["create"]>[0]): Promise<number> {
    const { data } = await this.octokit.rest.repos.createDeployment({
      ...this.coords,
      ref: input.ref,
      environment: input.environment,
      description: input.description,
      payload: input.payload,
      // The merge commit's checks already ran on the PR; merging the default branch in is not ours to do.
      auto_merge: false,
      required_contexts: [],
    });
    if (!("id" in data)) throw new Error(`GitHub did not create a deployment: ${data.message ?? "no id"}`);
    return data.id;
  }

  async existing(input: Parameters<DeploymentsPort["existing"]>[0]): Promise<ExistingDeployment[]> {
    // One page of 100: a merge makes one deployment per moved service, far fewer.
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.coords,
      sha: input.ref,
      environment: input.environment,
      per_page: 100,
    });
    return data.flatMap((d) => {
      // An App's deployments are made by its bot user; a person's (or a deleted user's) are not ours.
      if (d.creator?.type !== "Bot") return [];
      const payload = botPayload(d.payload);
      return payload ? [{ id: d.id, service: payload.service, job: payload.job }] : [];
    });
  }

  async status(id: number, input: Parameters<DeploymentsPort["status"]>[1]): Promise<void> {
    await this.octokit.rest.repos.createDeploymentStatus({
      ...this.coords,
      deployment_id: id,
      state: DEPLOYMENT_STATE[input.state],
      description: input.description,
      // One deployment per service shares the environment: a new one must not mark its siblings inactive.
      auto_inactive: false,
    });
  }
}

/**
 * The payload rollouts write (service, job, digest), or null for any other shape. GitHub hands it back
 * as an object, or as a JSON string when it was stored as one.
 */
export function botPayload(raw: unknown): { service: string; job: string; digest: string | null } | null {
  let value = raw;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return null;
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const { service, job, digest } = value as Record<string, unknown>;
  if (typeof service !== "string" || typeof job !== "string") return null;
  if (typeof digest !== "string" && digest !== null) return null;
  return { service, job, digest };
}
