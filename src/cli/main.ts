import { type CliIO, type Command, EXIT, UsageError, processIO, redactedIO } from "./io.js";
import { registerSecretsFromEnv } from "../secrets/redact.js";
import { sweepStaleTempDirs } from "../temp-dirs.js";

// Commands load lazily so `digest` does not pay for the HCL parser and vice versa.
const commands: Record<string, () => Promise<Command>> = {
  images: () => import("./images.js").then((m) => m.command),
  pin: () => import("./pin.js").then((m) => m.command),
  digest: () => import("./digest.js").then((m) => m.command),
  retag: () => import("./retag.js").then((m) => m.command),
  push: () => import("./push.js").then((m) => m.command),
  plan: () => import("./plan.js").then((m) => m.command),
  apply: () => import("./apply.js").then((m) => m.command),
  explain: () => import("./explain.js").then((m) => m.command),
  rollout: () => import("./rollout.js").then((m) => m.command),
  verify: () => import("./verify.js").then((m) => m.command),
};

// Only help needs every command loaded, for its one-line summary.
async function usage(): Promise<string> {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  const lines = await Promise.all(
    names.map(async (name) => `  ${name.padEnd(width)}  ${(await commands[name]!()).summary}`),
  );
  return [
    "usage: nomad-gitops-bot <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "Run `nomad-gitops-bot <command> --help` for a command's options.",
    "",
  ].join("\n");
}

export async function main(argv: string[], rawIO: CliIO = processIO): Promise<number> {
  registerSecretsFromEnv(rawIO.env);
  // Stale temporary directories go while the command loads; before it runs, so it never meets them.
  const swept = sweepStaleTempDirs();
  const io = redactedIO(rawIO);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.err : io.out)(await usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version") {
    const { version } = await import("../version.js");
    io.out(`${version}\n`);
    return EXIT.ok;
  }
  const load = commands[name];
  if (!load) {
    io.err(`nomad-gitops-bot: unknown command "${name}"\n\n${await usage()}`);
    return EXIT.usage;
  }
  const [command] = await Promise.all([load(), swept]);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(`${command.summary}\n\n${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`nomad-gitops-bot ${name}: ${error.message}\n\n${command.usage}\n`);
      return EXIT.usage;
    }
    io.err(`nomad-gitops-bot ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.partial;
  }
}
