// GitHub's deployments API behind the small DeploymentsPort rollouts use. The bot's deployments and their
// statuses are the durable state of a rollout follow-up: any replica can read them back.
import { z } from "zod";
import type { Octokit, RepoCoords } from "./types.js";
import type {
  DeploymentState,
  DeploymentTarget,
  DeploymentsPort,
  ExistingDeployment,
  UnfinishedDeployment,
} from "../core/ports.js";

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
    // One page of 100: a merge makes at most one deployment per moved service (one in all above 10).
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.coords,
      sha: input.ref,
      environment: input.environment,
      per_page: 100,
    });
    return data.flatMap((d) => {
      // An App's deployments are made by its bot user; a person's (or a deleted user's) are not ours.
      if (d.creator?.type !== "Bot") return [];
      return (botPayload(d.payload)?.targets ?? []).map((t) => ({
        id: d.id,
        service: t.service,
        job: t.job,
      }));
    });
  }

  async latest(id: number): Promise<{ state: string; description: string } | null> {
    const { data } = await this.octokit.rest.repos.listDeploymentStatuses({
      ...this.coords,
      deployment_id: id,
      per_page: 1,
    });
    const newest = data[0];
    return newest ? { state: newest.state, description: newest.description ?? "" } : null;
  }

  async unfinished(input: Parameters<DeploymentsPort["unfinished"]>[0]): Promise<UnfinishedDeployment[]> {
    // Newest first; one page of 100 reaches back far enough for one follow window of merges.
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.coords,
      ...(input.environment ? { environment: input.environment } : {}),
      per_page: 100,
    });
    const out: UnfinishedDeployment[] = [];
    for (const d of data) {
      const createdAt = new Date(d.created_at);
      if (createdAt < input.since) break;
      const payload = d.creator?.type === "Bot" ? botPayload(d.payload) : null;
      if (!payload) continue;
      const latest = await this.latest(d.id);
      if (latest?.state !== "queued" && latest?.state !== "in_progress") continue;
      out.push({
        id: d.id,
        environment: d.environment,
        sha: d.sha,
        createdAt,
        targets: payload.targets,
        ...latest,
        state: latest.state,
      });
    }
    return out;
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

const Target = z.object({
  service: z.string(),
  job: z.string(),
  file: z.string().optional(),
  digest: z.string().nullable(),
  submit_index: z.number().int().optional(),
});
/** What rollouts write: `targets` (one, or all moved services of a big merge), and for one its fields too. */
const Payload = z.union([
  z.looseObject({ targets: z.array(Target).min(1) }),
  // Written before follow-ups could be resumed: one service, no file.
  z.looseObject({ service: z.string(), job: z.string(), digest: z.string().nullable() }),
]);

/**
 * The targets of a payload rollouts wrote, or null for any other shape. GitHub hands the payload back as
 * an object, or as a JSON string when it was stored as one.
 */
export function botPayload(raw: unknown): { targets: DeploymentTarget[] } | null {
  let value = raw;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return null;
    }
  }
  const parsed = Payload.safeParse(value);
  if (!parsed.success) return null;
  const p = parsed.data;
  if ("targets" in p && Array.isArray(p.targets)) {
    return {
      targets: (p.targets as Array<z.infer<typeof Target>>).map((t) => ({
        service: t.service,
        job: t.job,
        digest: t.digest,
        ...(t.file !== undefined ? { file: t.file } : {}),
        ...(t.submit_index !== undefined ? { submit_index: t.submit_index } : {}),
      })),
    };
  }
  const one = p as { service: string; job: string; digest: string | null };
  return { targets: [{ service: one.service, job: one.job, digest: one.digest }] };
}
