// The event that started the workflow, as the runner writes it to GITHUB_EVENT_PATH: read through a
// schema like every other JSON from outside, never cast. Only the fields the Action uses are checked;
// the rest passes through untouched. GitHub sends `head_commit: null` for a push that deletes a branch.
import { z } from "zod";

const Commit = z.looseObject({ timestamp: z.string().optional() }).nullable().optional();

export const ActionEvent = z.looseObject({
  /** `workflow_run` events: the build run whose commit is deployed. */
  workflow_run: z
    .looseObject({
      head_sha: z.string().optional(),
      head_branch: z.string().nullable().optional(),
      head_commit: Commit,
    })
    .optional(),
  /** `push` events: the pushed commit. */
  head_commit: Commit,
});
export type ActionEvent = z.infer<typeof ActionEvent>;

/** The event file's text, parsed and checked; throws a SyntaxError or a ZodError saying what is wrong. */
export function parseActionEvent(text: string): ActionEvent {
  return ActionEvent.parse(JSON.parse(text));
}
