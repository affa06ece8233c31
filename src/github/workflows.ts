// Starting the build workflow (`build.trigger: dispatch`).
import type { Octokit, RepoCoords } from "./types.js";
import { statusOf } from "./errors.js";

/**
 * Dispatches `workflow` on `ref` with `inputs.sha` so the workflow can build that exact commit. A workflow
 * that declares no `sha` input makes GitHub refuse the call (422): it is then dispatched without inputs,
 * building the branch head, which is the pushed commit unless another push followed.
 * Returns null when dispatched, else GitHub's reason; transient failures (5xx, network) are thrown so the
 * delivery fails and is retried.
 */
export async function dispatchWorkflow(
  octokit: Octokit,
  coords: RepoCoords,
  request: { workflow: string; ref: string; sha: string },
): Promise<string | null> {
  const base = { ...coords, workflow_id: request.workflow, ref: request.ref };
  try {
    await octokit.rest.actions.createWorkflowDispatch({ ...base, inputs: { sha: request.sha } });
    return null;
  } catch (error) {
    const status = statusOf(error);
    if (status === 422 && /input/i.test((error as Error).message)) {
      try {
        await octokit.rest.actions.createWorkflowDispatch(base);
        return null;
      } catch (retry) {
        return (retry as Error).message;
      }
    }
    if (status === undefined || status >= 500) throw error;
    return (error as Error).message;
  }
}
