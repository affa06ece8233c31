import type { CliIO } from "../../src/cli/io.js";

/** A CliIO that records what a command prints. */
export function captureIO(overrides: Partial<Pick<CliIO, "env" | "cwd" | "isTTY">> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    out: (text) => void out.push(text),
    err: (text) => void err.push(text),
    env: overrides.env ?? {},
    cwd: overrides.cwd ?? process.cwd(),
    isTTY: overrides.isTTY ?? false,
  };
  return {
    io,
    get stdout() {
      return out.join("");
    },
    get stderr() {
      return err.join("");
    },
  };
}
