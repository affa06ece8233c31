import { parseImageRef } from "../image/reference.js";
import { errorText, parseArgsOrUsage } from "./digest.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

export const command: Command = {
  summary: "Explain how two images differ: config, layers by diff_id, and the files of the changed layers.",
  usage: [
    "usage: nomad-gitops-bot explain [--json] [--max-mib N] REF_A REF_B",
    "",
    "  REF_A, REF_B   repo:tag or repo@sha256:... (multi-platform indexes are compared per platform)",
    "  --json         print the explanation as JSON",
    "  --max-mib N    compressed MiB of changed layers to read in all (default 256); larger ones are",
    "                 listed as not inspected",
    "",
    "Exit 0 when explained (also when both are the same image), 1 on a registry error.",
  ].join("\n"),
  async run(argv: string[], io: CliIO): Promise<number> {
    const { positionals, values } = parseArgsOrUsage({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { json: { type: "boolean", default: false }, "max-mib": { type: "string" } },
    });
    if (positionals.length !== 2)
      throw new UsageError(`expected two image references, got ${positionals.length}`);
    for (const ref of positionals) {
      if (!parseImageRef(ref)) throw new UsageError(`not a valid image reference: ${ref}`);
    }
    let maxBytes: number | undefined;
    if (values["max-mib"] !== undefined) {
      const n = Number(values["max-mib"]);
      if (!Number.isFinite(n) || n < 0)
        throw new UsageError(`--max-mib must be a number ≥ 0, got "${values["max-mib"]}"`);
      maxBytes = Math.floor(n * 1024 * 1024);
    }
    const [{ createRegistryClient }, { explainImages, renderExplanationText }] = await Promise.all([
      import("../registry/index.js"),
      import("../explain/index.js"),
    ]);
    const client = createRegistryClient({ env: io.env });
    try {
      const explanation = await explainImages(client, positionals[0]!, positionals[1]!, {
        ...(maxBytes !== undefined ? { maxBytes } : {}),
      });
      io.out(values.json ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanationText(explanation));
      return EXIT.ok;
    } catch (error) {
      io.err(`error: ${errorText(error)}\n`);
      return EXIT.partial;
    }
  },
};
