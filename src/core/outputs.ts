// Step 8, render: the texts both shells publish (App: PR, sticky comment, check run, commit; CLI: the
// same, printed or committed), with the cluster's view appended when a ClusterReportPort is given.
import type { Config } from "../config/schema.js";
import type { FileChange } from "./edits.js";
import type { Plan } from "./plan.js";
import type { ClusterReportPort, DeployResult } from "./ports.js";
import type { NotesContext } from "./release-notes.js";
import { redact } from "../secrets/redact.js";
import { renderCheckRun, renderComment, renderCommitMessage, renderPrBody, renderPrTitle } from "./render.js";

type Rendered = Pick<DeployResult, "prTitle" | "prBody" | "comment" | "check" | "commitMessage">;

interface RenderExtra {
  files: readonly FileChange[];
  skipped: string | undefined;
  cluster: ClusterReportPort | undefined;
}

/**
 * The texts with every secret removed, before either shell compares them with what GitHub shows (so a
 * redelivered event still finds them unchanged) or prints them.
 */
export async function renderDeploy(
  config: Config,
  plan: Plan,
  ctx: NotesContext,
  extra: RenderExtra,
): Promise<Rendered> {
  const out = await renderTexts(config, plan, ctx, extra);
  return {
    prTitle: redact(out.prTitle),
    prBody: redact(out.prBody),
    comment: redact(out.comment),
    check: { ...out.check, title: redact(out.check.title), summary: redact(out.check.summary) },
    commitMessage: redact(out.commitMessage),
  };
}

async function renderTexts(
  config: Config,
  plan: Plan,
  ctx: NotesContext,
  extra: RenderExtra,
): Promise<Rendered> {
  const prTitle = renderPrTitle(config, plan);
  const out: Rendered = {
    prTitle,
    prBody: renderPrBody(plan, ctx),
    comment: renderComment(plan, ctx),
    check: renderCheckRun(plan),
    commitMessage: renderCommitMessage(plan, prTitle),
  };
  if (!extra.cluster) return out;
  // A skipped build rewrites nothing, so there is no plan to preview; drift is still worth showing.
  const changed = extra.skipped
    ? []
    : extra.files.filter((f) => f.edits.length > 0).map((f) => ({ path: f.path, text: f.after }));
  const report = await extra.cluster.report(plan, changed);
  if (report.prBody) out.prBody = `${out.prBody.trimEnd()}\n${report.prBody}\n`;
  if (report.comment) out.comment = `${out.comment.trimEnd()}\n\n${report.comment}`;
  // GitHub caps the summary; the App's check-run writer trims it to fit.
  if (report.check)
    out.check = { ...out.check, summary: `${out.check.summary.trimEnd()}\n\n${report.check}` };
  return out;
}
