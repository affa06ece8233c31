// `provenance:` in .github/nomad-gitops.yml: pin a moved or new digest only when a Sigstore attestation
// binds it to this repository's build of the commit (docs/supply-chain.md). Left out: no check at all,
// and no request for it.
import { z } from "zod";

const workflowFile = z.string().regex(/^[^/]+\.ya?ml$/, 'must be a workflow file name such as "images.yml"');

export const provenanceSchema = z
  .strictObject({
    require: z
      .boolean()
      .default(true)
      .describe(
        "Pin a moved or new digest only when its attestation verifies; false: keep the settings, check nothing.",
      ),
    workflow: workflowFile
      .optional()
      .describe(
        "This repository's workflow that builds the images and attests them; default: build.workflow.",
      ),
    signer: z
      .string()
      .regex(
        /^[\w.-]+\/[\w.-]+\/\.github\/workflows\/[^/@]+\.ya?ml@refs\/(heads|tags)\/\S+$/,
        'must be a reusable workflow such as "acme/ci/.github/workflows/build.yml@refs/tags/v1"',
      )
      .optional()
      .describe(
        "A reusable workflow that signs the attestation (the certificate's SAN), called by `workflow`; default: `workflow` signs itself.",
      ),
    ref: z
      .string()
      .regex(/^refs\/(heads|tags)\/\S+$/, 'must be a full ref such as "refs/heads/main"')
      .optional()
      .describe("The ref the build must have run on; default: the deploy branch being planned."),
    triggers: z
      .array(z.string().regex(/^[a-z_]+$/, 'must be a GitHub event name such as "push"'))
      .min(1, "must list at least one event")
      .default(["push", "workflow_dispatch"])
      .describe("Events allowed to have started the build (never pull_request unless you mean it)."),
    runner: z
      .enum(["github-hosted", "self-hosted", "any"])
      .default("github-hosted")
      .describe("The runner environment the build must have used."),
    exempt: z
      .array(z.string().min(1, "must not be empty"))
      .default([])
      .describe("Services pinned without a provenance check (e.g. images built elsewhere)."),
    trusted_root: z
      .string()
      .min(1, "must not be empty")
      .refine((file) => !file.startsWith("/") && !file.split("/").includes(".."), {
        message: "must be a path inside the repository (no leading / or ..)",
      })
      .optional()
      .describe(
        "A Sigstore trusted root file in the repository (JSON, or the JSON lines of `gh attestation trusted-root`) used instead of the public-good root shipped with the bot: GitHub's own instance for private repositories, or an air-gapped one.",
      ),
  })
  .describe("Require verified build provenance (Sigstore, SLSA v1) before pinning a digest that moved.");

export type ProvenanceConfig = z.infer<typeof provenanceSchema>;
