import { readFile } from "node:fs/promises";
import path from "node:path";
import { type CliIO, type Command, EXIT } from "./io.js";
import { BUILD_TRAILER } from "../core/render.js";
import type { DeployResult } from "../core/ports.js";
import {
  BranchRaceError,
  type CommitSigning,
  GitError,
  SigningError,
  checkBranchName,
  checkSigning,
  commitFiles,
  commitHooks,
  commitSigning,
  guardDeployBranch,
  repoRoot,
  revParse,
} from "../workspace/git.js";
import {
  type DeployArgs,
  InputError,
  deploy,
  exitCodeOf,
  formatPlan,
  parseDeployArgs,
  planJson,
} from "./deploy.js";
import { describeError, writeFileAtomic } from "../workspace/files.js";

export const command: Command = {
  summary: "Push moved images, retag unchanged ones, pin the job files and write release notes.",
  usage: [
    "usage: nomad-gitops-bot apply [--repo DIR] [--sha REV] [--images FILE] [--commit BRANCH [--force]] [--quiet] [--json]",
    "",
    "  --repo DIR       repository with .github/nomad-gitops.yml and the job files (default: .)",
    "  --sha REV        commit the images were built from (default: HEAD)",
    '  --images FILE    JSON {"service": "docker-archive:PATH" | "oci:DIR" | "image:tag"}: only moved',
    "                   images are pushed",
    "  --commit BRANCH  commit the changes on BRANCH: HEAD's files plus the bot's edits (nothing",
    "                   uncommitted), BRANCH created or moved onto it only if nobody moved it meanwhile;",
    "                   a checked-out branch, or one with commits HEAD lacks that the bot did not make,",
    "                   is refused before anything is pushed. The index and HEAD are left as they are.",
    "                   Signed when git signs commits (commit.gpgsign; signing is tried before anything",
    "                   is pushed); commit hooks are not run, and said so (see docs/ci.md).",
    "  --force          with --commit: rewrite BRANCH even if it holds commits HEAD lacks",
    "  --quiet          print only problems and services awaiting builders",
    "  --json           print the result (plan, files, PR body, comment, check run, commit) as JSON",
    "",
    "Rewrites the job files in the working tree and prints the PR body and image comment the App would post.",
    "Exit status: 0 done (services awaiting builders are not failures), 1 some service or job file failed,",
    "a digest was refused or the commit lost a race (the rest was done), 2 bad usage or input.",
  ].join("\n"),
  async run(argv, io) {
    const args = parseDeployArgs(argv, io, true);
    try {
      // Everything that can refuse --commit is checked before the run writes to any registry.
      const target = args.commit === undefined ? null : await prepareCommit(args);
      const { result, root } = await deploy(args, io, "apply", target?.head);
      const commit = target ? await commitResult(root, args.commit!, target, result) : null;
      const written = await writeWorkingTree(root, result, commit);
      const code = Math.max(
        exitCodeOf(result.plan),
        commit?.error || written.failed ? EXIT.partial : EXIT.ok,
      );
      report(io, args, result, commit, written.notes, code);
      return code;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      io.err(`nomad-gitops-bot apply: ${error.message}\n`);
      return EXIT.usage;
    }
  },
};

interface CommitTarget {
  head: string;
  /** Where the branch pointed when the run started (null: absent): the compare-and-swap's expectation. */
  expected: string | null;
  /** git signs commits here: so is the deploy commit */
  signing: CommitSigning | null;
}

interface CommitOutcome {
  sha: string | null;
  /** how the commit was signed (gpg.format); null: unsigned */
  signed: string | null;
  /** the repository's commit hooks, which the plumbing commit did not run */
  hooksNotRun: string[];
  error: string | null;
}

async function prepareCommit(args: DeployArgs): Promise<CommitTarget> {
  try {
    const root = await repoRoot(args.repo);
    await checkBranchName(root, args.commit!);
    const head = await revParse(root, "HEAD");
    const expected = await guardDeployBranch(root, args.commit!, head, {
      force: args.force,
      trailer: BUILD_TRAILER,
    });
    const signing = await commitSigning(root);
    if (signing) await checkSigning(root, signing);
    return { head, expected, signing };
  } catch (error) {
    if (error instanceof GitError) throw new InputError(error.message);
    throw error;
  }
}

async function commitResult(
  root: string,
  branch: string,
  target: CommitTarget,
  result: DeployResult,
): Promise<CommitOutcome> {
  const none = { sha: null, signed: null, hooksNotRun: [] };
  if (result.files.length === 0) return { ...none, error: null };
  try {
    const sha = await commitFiles(root, {
      branch,
      parent: target.head,
      expected: target.expected,
      message: result.commitMessage,
      files: result.files.map((f) => ({ path: f.path, text: f.after })),
      signing: target.signing,
    });
    const signed = target.signing?.format ?? null;
    return { sha, signed, hooksNotRun: await commitHooks(root), error: null };
  } catch (error) {
    if (error instanceof BranchRaceError || error instanceof SigningError)
      return { ...none, error: error.message };
    throw error;
  }
}

/**
 * The new texts into the working tree. With --commit, only once the commit landed, and only over files
 * that still hold what the commit was built from: uncommitted edits are never overwritten.
 */
async function writeWorkingTree(
  root: string,
  result: DeployResult,
  commit: CommitOutcome | null,
): Promise<{ notes: string[]; failed: boolean }> {
  const notes: string[] = [];
  let failed = false;
  if (commit?.error) return { notes, failed };
  for (const file of result.files) {
    const full = path.join(root, file.path);
    if (commit) {
      const now = await readFile(full, "utf8").catch(() => null);
      if (now !== file.before && !(now === null && file.before === "")) {
        notes.push(`left ${file.path} alone: it has uncommitted changes (the commit has the new text)`);
        continue;
      }
    }
    try {
      await writeFileAtomic(full, file.after);
      notes.push(`wrote ${file.path}`);
    } catch (error) {
      failed = true;
      notes.push(`not written ${file.path}: ${describeError(error)}`);
    }
  }
  return { notes, failed };
}

function report(
  io: CliIO,
  args: DeployArgs,
  result: DeployResult,
  commit: CommitOutcome | null,
  notes: string[],
  code: number,
): void {
  if (commit?.error) io.err(`nomad-gitops-bot apply: not committed: ${commit.error}\n`);
  if (commit?.sha && commit.hooksNotRun.length > 0) {
    io.err(
      `nomad-gitops-bot apply: hooks not run: ${commit.hooksNotRun.join(", ")}: the commit on ${args.commit} was built with git plumbing from HEAD's tree, not by \`git commit\`; run them on ${args.commit} if the repository relies on them\n`,
    );
  }
  if (args.json) {
    const extra = {
      registry: result.registry,
      commit: commit?.sha
        ? { branch: args.commit, sha: commit.sha, signed: commit.signed, hooksNotRun: commit.hooksNotRun }
        : null,
      ...(commit?.error ? { commitError: commit.error } : {}),
      prTitle: result.prTitle,
      prBody: result.prBody,
      comment: result.comment,
      check: result.check,
      commitMessage: result.commitMessage,
      releaseNotes: result.releaseNotes,
    };
    io.out(`${JSON.stringify(planJson(result, extra), null, 2)}\n`);
    return;
  }
  if (args.quiet) {
    // Quiet prints what is left to do: failures, and services still awaiting builders (exit 0).
    if (code !== EXIT.ok || result.plan.counts.awaiting > 0) io.err(formatPlan(result.plan));
    return;
  }
  const out = [formatPlan(result.plan)];
  for (const a of result.registry) {
    out.push(
      `${a.action} ${a.service} ${a.ref}${a.tags ? ` +${a.tags.join(",")}` : ""}: ${a.result}${a.detail ? ` (${a.detail})` : ""}\n`,
    );
  }
  for (const note of notes) out.push(`${note}\n`);
  if (commit?.sha) {
    const signed = commit.signed ? ` (signed, ${commit.signed})` : "";
    out.push(`committed ${commit.sha.slice(0, 12)} on ${args.commit}${signed}\n`);
  } else if (commit && !commit.error) out.push(`nothing to commit on ${args.commit}\n`);
  if (result.files.length > 0) {
    out.push(`\n--- PR: ${result.prTitle}\n\n${result.prBody}`, `\n--- image comment\n\n${result.comment}`);
  }
  io.out(out.join(""));
}
