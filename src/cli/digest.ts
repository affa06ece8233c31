import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseImageRef } from "../image/reference.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

export const command: Command = {
  summary: "Print the digest of the manifest or index an image reference names, hashed from its bytes.",
  usage: [
    "usage: nomad-gitops-bot digest REF...",
    "",
    "  REF   repo:tag or repo@sha256:... (e.g. ghcr.io/acme/api:1.4.2)",
    "",
    "With one REF prints its digest; with several, one `REF DIGEST` line each.",
    "Credentials come from REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json.",
    "An index must still have every platform manifest it lists; one that lost a platform is an error",
    "naming the platform and the missing manifest's digest (the image cannot be pulled there).",
    "Exit 1 when a reference could not be resolved (the others are still printed).",
  ].join("\n"),
  async run(argv: string[], io: CliIO): Promise<number> {
    const { positionals } = parseArgsOrUsage({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {},
    });
    if (positionals.length === 0) throw new UsageError("missing REF");
    for (const ref of positionals) {
      if (!parseImageRef(ref)) throw new UsageError(`not a valid image reference: ${ref}`);
    }
    const { createRegistryClient } = await import("../registry/index.js");
    const client = createRegistryClient({ env: io.env });
    // A GET, not a HEAD: what is printed is the sha256 of the bytes served (checked against the
    // digest the registry announced), never a header taken on trust.
    const results = await Promise.allSettled(
      positionals.map(async (ref) => (await client.prove(ref)).digest!),
    );
    let failed = 0;
    results.forEach((result, i) => {
      const ref = positionals[i]!;
      if (result.status === "fulfilled") {
        io.out(positionals.length === 1 ? `${result.value}\n` : `${ref} ${result.value}\n`);
      } else {
        failed++;
        io.err(`error: ${errorText(result.reason)}\n`);
      }
    });
    return failed > 0 ? EXIT.partial : EXIT.ok;
  },
};

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** parseArgs, with its errors (unknown option, missing value) turned into usage errors (exit 2). */
export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
