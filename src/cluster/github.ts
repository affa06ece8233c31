// GitHub's deployments API behind the small DeploymentsPort rollouts use.
import type { Octokit, RepoCoords } from "../github/types.js";
import type { DeploymentsPort } from "./rollout.js";

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

  async status(id: number, input: Parameters<DeploymentsPort["status"]>[1]): Promise<void> {
    await this.octokit.rest.repos.createDeploymentStatus({
      ...this.coords,
      deployment_id: id,
      state: input.state,
      description: input.description,
      // One deployment per service shares the environment: a new one must not mark its siblings inactive.
      auto_inactive: false,
    });
  }
}
