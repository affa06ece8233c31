import { type Command, EXIT } from "./io.js";
import { InputError, deploy, exitCodeOf, formatPlan, parseDeployArgs, planJson } from "./deploy.js";

export const command: Command = {
  summary: "Show which service images moved since the job files were last pinned (changes nothing).",
  usage: [
    "usage: nomad-gitops-bot plan [--repo DIR] [--sha REV] [--images FILE] [--json]",
    "",
    "  --repo DIR     repository with .github/nomad-gitops.yml and the job files (default: .)",
    "  --sha REV      commit the images were built from (default: HEAD); tags come from build.tag",
    '  --images FILE  JSON {"service": "docker-archive:PATH" | "oci:DIR" | "image:tag"} instead of tags',
    "  --json         print the plan as JSON",
    "",
    "Exit status: 0 planned (services awaiting builders are not failures), 1 some service or job file",
    "failed or a digest was refused (the rest is shown), 2 bad usage or input.",
  ].join("\n"),
  async run(argv, io) {
    const args = parseDeployArgs(argv, io, false);
    try {
      const { result } = await deploy(args, io, "plan");
      io.out(args.json ? `${JSON.stringify(planJson(result), null, 2)}\n` : formatPlan(result.plan));
      return exitCodeOf(result.plan);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      io.err(`nomad-gitops-bot plan: ${error.message}\n`);
      return EXIT.usage;
    }
  },
};
