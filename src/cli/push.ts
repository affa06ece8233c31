import { LOCAL_SOURCE_FORMS, parseLocalSource } from "../image/source.js";
import { parseImageRef } from "../image/reference.js";
import { errorText, parseArgsOrUsage } from "./digest.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

export const command: Command = {
  summary: "Push an image archive with skopeo, or skip it when the registry already has the same image.",
  usage: [
    "usage: nomad-gitops-bot push [--force] [--deployed RUNNING] SOURCE REF",
    "",
    "  SOURCE               docker-archive:PATH (docker save, Nix dockerTools) or oci:DIR[:tag] (OCI layout)",
    "  REF                  repo:tag to push to",
    "  --force              push even when the registry already has the same image",
    "  --deployed RUNNING   the image running now (repo@sha256:… or repo:tag, same repository): when it is",
    "                       the same image, it gets REF's tag (one GET + PUT) and nothing is uploaded",
    "",
    "Compares the archive's config digest(s) with the deployed manifest's first: unchanged means no",
    "upload at all. Prints the digest the registry serves for REF; the reason goes to stderr.",
    "Needs skopeo. Exit 1 when the push failed.",
  ].join("\n"),
  async run(argv: string[], io: CliIO): Promise<number> {
    const { positionals, values } = parseArgsOrUsage({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { force: { type: "boolean", default: false }, deployed: { type: "string" } },
    });
    const [source, ref, ...extra] = positionals;
    if (source === undefined || ref === undefined) throw new UsageError("missing SOURCE or REF");
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
    const { pushImage } = await import("../registry/index.js");
    if (!parseLocalSource(source)) {
      throw new UsageError(`unsupported SOURCE "${source}": use ${LOCAL_SOURCE_FORMS}`);
    }
    const parsed = parseImageRef(ref);
    if (!parsed) throw new UsageError(`not a valid image reference: ${ref}`);
    if (parsed.digest !== null || parsed.tag === null)
      throw new UsageError(`REF needs a tag (repo:tag): ${ref}`);
    try {
      const result = await pushImage(source, ref, {
        env: io.env,
        cwd: io.cwd,
        force: values.force,
        ...(values.deployed !== undefined ? { deployed: values.deployed } : {}),
      });
      io.err(`${result.pushed ? "pushed" : "unchanged, not pushed"}: ${ref} (${result.reason})\n`);
      io.out(`${result.digest}\n`);
      return EXIT.ok;
    } catch (error) {
      io.err(`error: ${errorText(error)}\n`);
      return EXIT.partial;
    }
  },
};
