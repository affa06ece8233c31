import { redact } from "../secrets/redact.js";

/** What a CLI command may touch of the outside world; tests pass their own. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** True when stderr is a terminal: progress may redraw lines instead of printing one per step. */
  readonly isTTY: boolean;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: Boolean(process.stderr.isTTY),
};

/**
 * The same IO with every line passed through the one redaction function: whatever a command prints
 * (plans, --json, PR bodies, errors quoting a registry that echoed a header) leaves without secrets.
 */
export function redactedIO(io: CliIO): CliIO {
  return { ...io, out: (text) => io.out(redact(text)), err: (text) => io.err(redact(text)) };
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, partial: 1, usage: 2 } as const;

/** Thrown for bad arguments; main() prints it with the command's usage and exits 2. */
export class UsageError extends Error {}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}
