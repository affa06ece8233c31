// The Action's entry (bundled into dist-action/index.js): inputs from the runner, the run, its outputs.
import { tuneForShortRun } from "../tiering.js";
import { ActionInputError, runAction, writeOutputs, writeSummary } from "./run.js";

// A run of a few seconds: V8's optimizing compiler tuned for it, as for the CLI.
tuneForShortRun();

const env = process.env;
const log = {
  info: (fields: Record<string, unknown>, message: string) =>
    console.log(`${message} ${JSON.stringify(fields)}`),
  warn: (fields: Record<string, unknown>, message: string) =>
    console.log(`::warning::${message} ${JSON.stringify(fields)}`),
};
try {
  const outcome = await runAction(env, log);
  await writeOutputs(env.GITHUB_OUTPUT, outcome.outputs);
  await writeSummary(env.GITHUB_STEP_SUMMARY, outcome.summary);
  console.log(outcome.summary);
  process.exitCode = outcome.exitCode;
} catch (error) {
  // Workflow commands take one line: the runner shows %0A as a line break.
  const text = error instanceof Error ? error.message : String(error);
  const message = (error instanceof ActionInputError ? text : `the deploy run failed: ${text}`)
    .replace(/(gh[opsu]_|github_pat_)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*/g, "$1***")
    .replace(/%/g, "%25")
    .replace(/\r?\n/g, "%0A");
  console.log(`::error title=nomad-gitops::${message}`);
  await writeSummary(env.GITHUB_STEP_SUMMARY, `### nomad-gitops\n\n${text}\n`).catch(() => {});
  process.exitCode = 1;
}
