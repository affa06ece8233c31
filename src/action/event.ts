// The event that started the workflow, as the runner writes it to GITHUB_EVENT_PATH: read through a
// schema like every other JSON from outside, never cast. Only the fields the Action uses are checked;
// the rest passes through untouched. GitHub sends `head_commit: null` for a push that deletes a branch.
import { readFile } from "node:fs/promises";
import { z } from "zod";

const Commit = z.looseObject({ timestamp: z.string().optional() }).nullable().optional();

export const ActionEvent = z.looseObject({
  /** `workflow_run` events: the build run whose commit is deployed. */
  workflow_run: z
    .looseObject({
      /** The event that started the build run (`merge_group` for a merge queue's trial merge). */
      event: z.string().optional(),
      head_sha: z.string().optional(),
      head_branch: z.string().nullable().optional(),
      head_commit: Commit,
    })
    .optional(),
  /** `push` events: the pushed commit. */
  head_commit: Commit,
  /** `merge_group` events: the queue's trial merge. */
  merge_group: z.looseObject({ head_sha: z.string(), head_ref: z.string(), base_ref: z.string() }).optional(),
});
export type ActionEvent = z.infer<typeof ActionEvent>;

/** The event file's text, parsed and checked; throws a SyntaxError or a ZodError saying what is wrong. */
export function parseActionEvent(text: string): ActionEvent {
  return ActionEvent.parse(JSON.parse(text));
}

/** The event file at `path` (GITHUB_EVENT_PATH); none, unreadable or malformed reads as no event. */
export async function readActionEvent(path: string | undefined): Promise<ActionEvent> {
  if (!path) return {};
  try {
    return parseActionEvent(await readFile(path, "utf8"));
  } catch {
    return {};
  }
}
