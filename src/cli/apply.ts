import path from "node:path";
import { type Command, EXIT } from "./io.js";
import { commitFiles, revParse } from "../workspace/git.js";
import { InputError, deploy, exitCodeOf, formatPlan, parseDeployArgs, planJson } from "./deploy.js";
import { writeFileAtomic } from "../workspace/files.js";

export const command: Command = {
  summary: "Push moved images, retag unchanged ones, pin the job files and write release notes.",
  usage: [
    "usage: nomad-gitops-bot apply [--repo DIR] [--sha REV] [--images FILE] [--commit BRANCH] [--quiet] [--json]",
    "",
    "  --repo DIR       repository with .github/nomad-gitops.yml and the job files (default: .)",
    "  --sha REV        commit the images were built from (default: HEAD)",
    '  --images FILE    JSON {"service": "docker-archive:PATH" | "oci:DIR" | "image:tag"}: only moved',
    "                   images are pushed",
    "  --commit BRANCH  also commit the changes on BRANCH (created, or reset onto HEAD;",
    "                   the working tree, index and current branch are left as they are)",
    "  --quiet          print only problems",
    "  --json           print the result (plan, files, PR body, comment) as JSON",
    "",
    "Rewrites the job files in the working tree and prints the PR body and image comment the App would post.",
    "Exit status: 0 done, 1 some service or job file failed (the rest was done), 2 bad usage or input.",
  ].join("\n"),
  async run(argv, io) {
    const args = parseDeployArgs(argv, io, true);
    try {
      const { result, root } = await deploy(args, io, "apply");
      for (const file of result.files) await writeFileAtomic(path.join(root, file.path), file.after);
      let commit: string | null = null;
      if (args.commit !== undefined && result.files.length > 0) {
        commit = await commitFiles(root, {
          branch: args.commit,
          parent: await revParse(root, "HEAD"),
          message: result.commitMessage,
          files: result.files.map((f) => ({ path: f.path, text: f.after })),
        });
      }
      const code = exitCodeOf(result.plan);
      if (args.json) {
        const extra = {
          registry: result.registry,
          commit: commit ? { branch: args.commit, sha: commit } : null,
          prTitle: result.prTitle,
          prBody: result.prBody,
          comment: result.comment,
          check: result.check,
          commitMessage: result.commitMessage,
          releaseNotes: result.releaseNotes,
        };
        io.out(`${JSON.stringify(planJson(result, extra), null, 2)}\n`);
        return code;
      }
      if (args.quiet) {
        if (code !== EXIT.ok) io.err(formatPlan(result.plan));
        return code;
      }
      const out = [formatPlan(result.plan)];
      for (const a of result.registry) {
        out.push(
          `${a.action} ${a.service} ${a.ref}${a.tags ? ` +${a.tags.join(",")}` : ""}: ${a.result}${a.detail ? ` (${a.detail})` : ""}\n`,
        );
      }
      for (const f of result.files) out.push(`wrote ${f.path}\n`);
      if (commit) out.push(`committed ${commit.slice(0, 12)} on ${args.commit}\n`);
      else if (args.commit !== undefined) out.push(`nothing to commit on ${args.commit}\n`);
      if (result.files.length > 0) {
        out.push(
          `\n--- PR: ${result.prTitle}\n\n${result.prBody}`,
          `\n--- image comment\n\n${result.comment}`,
        );
      }
      io.out(out.join(""));
      return code;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      io.err(`nomad-gitops-bot apply: ${error.message}\n`);
      return EXIT.usage;
    }
  },
};
