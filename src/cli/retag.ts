import { parseImageRef } from "../image/reference.js";
import { errorText, parseArgsOrUsage } from "./digest.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

export const command: Command = {
  summary: "Add tags to an image in its repository without moving a blob (GET + PUT of the manifest).",
  usage: [
    "usage: nomad-gitops-bot retag REF TAG...",
    "",
    "  REF   repo:tag or repo@sha256:... naming the manifest or multi-platform index",
    "  TAG   tags to add in the same repository",
    "",
    "Prints one line per tag: `created` or `exists` (already pointed at the same digest), the tag and",
    "the digest. Exit 1 when some tag could not be written (the others are still done).",
  ].join("\n"),
  async run(argv: string[], io: CliIO): Promise<number> {
    const { positionals } = parseArgsOrUsage({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {},
    });
    const [ref, ...tags] = positionals;
    if (ref === undefined) throw new UsageError("missing REF");
    const parsed = parseImageRef(ref);
    if (!parsed) throw new UsageError(`not a valid image reference: ${ref}`);
    if (tags.length === 0) throw new UsageError("missing TAG");
    const { createRegistryClient, isValidTag, RetagError } = await import("../registry/index.js");
    for (const tag of tags) if (!isValidTag(tag)) throw new UsageError(`not a valid tag: ${tag}`);
    const client = createRegistryClient({ env: io.env });
    const repo = `${parsed.transport}${parsed.domain ? `${parsed.domain}/` : ""}${parsed.path}`;
    const print = (results: Array<{ tag: string; status: string; digest: string }>) => {
      for (const r of results) io.out(`${r.status.padEnd(7)} ${repo}:${r.tag} ${r.digest}\n`);
    };
    try {
      print(await client.retag(ref, tags));
      return EXIT.ok;
    } catch (error) {
      if (error instanceof RetagError) {
        print(error.results);
        for (const failure of error.failures) io.err(`error: ${ref}: ${failure}\n`);
      } else {
        io.err(`error: ${errorText(error)}\n`);
      }
      return EXIT.partial;
    }
  },
};
