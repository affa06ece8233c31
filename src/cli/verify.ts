import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseImageRef, repositoryOf } from "../image/reference.js";
import { errorText, parseArgsOrUsage } from "./digest.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

export const command: Command = {
  summary: "Verify that an image's digest was built and attested by a repository's workflow at a commit.",
  usage: [
    "usage: nomad-gitops-bot verify REF --repo OWNER/NAME --commit SHA [--workflow FILE] [--ref REF]",
    "         [--repository-id N] [--signer OWNER/REPO/.github/workflows/F@REF] [--trigger EVENT]...",
    "         [--runner github-hosted|self-hosted|any] [--bundle FILE]... [--trusted-root FILE] [--json]",
    "",
    "  REF              repo:tag or repo@sha256:...; its digest is read and checked against the bytes",
    "  --workflow       the repository's workflow that built and attested it (default images.yml)",
    "  --ref            the ref it must have run on (default refs/heads/main)",
    "  --trigger        allowed events (default push and workflow_dispatch)",
    "  --runner         default github-hosted",
    "  --bundle         Sigstore bundles to check (JSON, or JSON lines as `gh attestation download` writes);",
    "                   without it, GitHub's attestations API with GITHUB_TOKEN",
    "  --trusted-root   a trusted root (JSON or `gh attestation trusted-root` lines); default: both roots",
    "                   shipped with the bot (public-good Sigstore and GitHub's own instance)",
    "",
    "Prints the verdict as the check run words it (`verified: WORKFLOW built COMMIT (…), run N URL` or",
    "`unverified: CHECK — reason`), the digest, and the `gh attestation verify` command that checks the same;",
    "--json prints the verdict with that command as an argument list. Exit 1 when unverified.",
  ].join("\n"),
  async run(argv: string[], io: CliIO): Promise<number> {
    const { positionals, values } = parseArgsOrUsage({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        repo: { type: "string" },
        commit: { type: "string" },
        workflow: { type: "string", default: "images.yml" },
        ref: { type: "string", default: "refs/heads/main" },
        "repository-id": { type: "string" },
        signer: { type: "string" },
        trigger: { type: "string", multiple: true },
        runner: { type: "string", default: "github-hosted" },
        bundle: { type: "string", multiple: true },
        "trusted-root": { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const [ref, ...extra] = positionals;
    if (ref === undefined) throw new UsageError("missing REF");
    if (extra.length > 0) throw new UsageError(`one REF at a time, got also: ${extra.join(" ")}`);
    const parsed = parseImageRef(ref);
    if (!parsed) throw new UsageError(`not a valid image reference: ${ref}`);
    if (!values.repo || !/^[\w.-]+\/[\w.-]+$/.test(values.repo))
      throw new UsageError("--repo OWNER/NAME is required");
    if (!values.commit || !/^[0-9a-f]{40}$/i.test(values.commit))
      throw new UsageError("--commit must be a full 40-character commit sha");
    const runner = values.runner;
    if (runner !== "github-hosted" && runner !== "self-hosted" && runner !== "any") {
      throw new UsageError("--runner must be github-hosted, self-hosted or any");
    }
    const token = io.env.GITHUB_TOKEN;
    if (!values.bundle && !token)
      throw new UsageError("give --bundle FILE or set GITHUB_TOKEN to ask GitHub's attestations API");

    const { trustRoots, verifyAttestations, describeVerdict, ghVerifyCommand, shellLine } =
      await import("../provenance/index.js");
    const read = async (file: string) => {
      try {
        return await readFile(path.resolve(io.cwd, file), "utf8");
      } catch (error) {
        throw new UsageError(
          `${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? errorText(error)})`,
        );
      }
    };
    const rootFile = values["trusted-root"];
    const roots = trustRoots(rootFile ? { text: await read(rootFile), where: rootFile } : undefined);

    const { createRegistryClient } = await import("../registry/index.js");
    const digest = (await createRegistryClient({ env: io.env }).prove(ref)).digest!;
    let bundles: unknown[];
    if (values.bundle) {
      bundles = (await Promise.all(values.bundle.map(async (f) => bundlesIn(await read(f), f)))).flat();
    } else {
      const { listAttestations } = await import("../github/attestations.js");
      const { octokitForToken } = await import("../github/octokit.js");
      const [owner, repo] = values.repo.split("/") as [string, string];
      bundles = await listAttestations(
        octokitForToken(token!, { repository: `${owner}/${repo}` }),
        { owner, repo },
        digest,
      );
    }
    const policy = {
      repository: values.repo,
      repositoryId: values["repository-id"],
      workflow: values.workflow,
      signer: values.signer,
      ref: values.ref,
      commit: values.commit,
      triggers: values.trigger ?? ["push", "workflow_dispatch"],
      runner,
    } as const;
    const command = ghVerifyCommand(repositoryOf(parsed), digest, policy);
    const verdict = { ...verifyAttestations(bundles, digest, policy, roots), command };
    if (values.json) io.out(`${JSON.stringify(verdict, null, 2)}\n`);
    else io.out(`${describeVerdict(verdict)}\ndigest: ${digest}\ncheck it yourself: ${shellLine(command)}\n`);
    return verdict.status === "verified" ? EXIT.ok : EXIT.partial;
  },
};

/** Bundles in a file: one JSON document, or JSON lines; a line may wrap its bundle as GitHub's API does. */
function bundlesIn(text: string, file: string): unknown[] {
  const docs =
    /^\s*\{[\s\S]*\}\s*$/.test(text) && !/\}\s*\n\s*\{/.test(text)
      ? [text]
      : text.split("\n").filter((l) => l.trim());
  return docs.map((doc, i) => {
    let json: unknown;
    try {
      json = JSON.parse(doc);
    } catch {
      throw new UsageError(`${file}${docs.length > 1 ? ` line ${i + 1}` : ""}: not JSON`);
    }
    const wrapped = json as { bundle?: unknown; mediaType?: unknown };
    return wrapped.mediaType === undefined && wrapped.bundle !== undefined ? wrapped.bundle : json;
  });
}
