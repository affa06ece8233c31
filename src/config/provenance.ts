// `provenance:` in .github/nomad-gitops.yml: pin a moved or new digest only when a Sigstore attestation
// binds it to this repository's build of the commit (docs/supply-chain.md). Left out: no check at all,
// and no request for it.
import { z } from "zod";

const workflowFile = z.string().regex(/^[^/]+\.ya?ml$/, 'must be a workflow file name such as "images.yml"');
const fullRef = z.string().regex(/^refs\/(heads|tags)\/\S+$/, 'must be a full ref such as "refs/heads/main"');
const repoPath = z
  .string()
  .min(1, "must not be empty")
  .refine((file) => !file.startsWith("/") && !file.split("/").includes(".."), {
    message: "must be a path inside the repository (no leading / or ..)",
  });

// A builder's result is looked up per commit: its tag must name the commit, or builds would overwrite it.
const builderTag = z
  .string()
  .regex(/^[A-Za-z0-9_{][A-Za-z0-9_.{}-]*$/, "must be a valid image tag apart from the placeholders")
  .refine(
    (tag) => [...tag.matchAll(/\{([^{}]*)\}/g)].every((m) => ["sha", "short_sha", "branch"].includes(m[1]!)),
    {
      message: "may only use the placeholders {sha}, {short_sha}, {branch}",
    },
  )
  .refine((tag) => tag.includes("{sha}") || tag.includes("{short_sha}"), {
    message: 'must name the commit with {sha} or {short_sha}, e.g. "{sha}-rebuild"',
  });

const builderSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[\w.-]+$/, "must be a short name (letters, digits, '_', '.', '-')")
      .describe("Shown in plans and comments (`2/2 (rebuild, nix)`)."),
    workflow: workflowFile
      .optional()
      .describe(
        "Keyless: this repository's workflow that rebuilds and attests (its certificate's identity).",
      ),
    ref: fullRef
      .optional()
      .describe("Keyless: the ref the rebuild ran on; default: `provenance.ref`, else the deploy branch."),
    triggers: z
      .array(z.string().regex(/^[a-z_]+$/, 'must be a GitHub event name such as "workflow_run"'))
      .min(1, "must list at least one event")
      .default(["push", "workflow_dispatch", "workflow_run"])
      .describe("Keyless: events allowed to have started the rebuild."),
    runner: z
      .enum(["github-hosted", "self-hosted", "any"])
      .default("any")
      .describe("Keyless: the runner environment the rebuild must have used."),
    key: repoPath
      .optional()
      .describe(
        "Signed with a key instead: a PEM public key file in the repository (e.g. a homelab Nix builder).",
      ),
    hint: z
      .string()
      .min(1, "must not be empty")
      .optional()
      .describe(
        "With `key`: the key hint its bundles carry (`verificationMaterial.publicKey.hint`); default: `name`.",
      ),
    tag: builderTag.describe('The tag the builder pushes its result under, e.g. "{sha}-rebuild".'),
  })
  .superRefine((b, ctx) => {
    if ((b.workflow === undefined) === (b.key === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["workflow"],
        message: "set exactly one of `workflow` (keyless, GitHub Actions) or `key` (a PEM public key file)",
      });
    }
    if (b.key === undefined && b.hint !== undefined) {
      ctx.addIssue({ code: "custom", path: ["hint"], message: "only a `key` builder has a key hint" });
    }
  });
export type BuilderConfig = z.infer<typeof builderSchema>;

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
    ref: fullRef
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
    builders: z
      .array(builderSchema)
      .default([])
      .describe(
        "Independent builders that rebuild each moved image: it is pinned only when their digests equal the build's.",
      ),
    agree: z
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .max(20, "must be at most 20")
      .optional()
      .describe(
        "How many builders must have verified the same digest before it is pinned; default: all of them.",
      ),
    not_reproducible: z
      .array(z.string().min(1, "must not be empty"))
      .default([])
      .describe("Services known not to build reproducibly: pinned from the main build alone, and said so."),
    trusted_root: repoPath
      .optional()
      .describe(
        "A Sigstore trusted root file in the repository (JSON, or the JSON lines of `gh attestation trusted-root`) used instead of both roots shipped with the bot (public-good and GitHub's own instance): for an air-gapped or custom Sigstore, or a fresher root than the shipped ones.",
      ),
  })
  .superRefine((p, ctx) => {
    const once = (key: "name" | "tag", what: string) => {
      const seen = new Map<string, number>();
      p.builders.forEach((b, i) => {
        const first = seen.get(b[key]);
        if (first === undefined) seen.set(b[key], i);
        else
          ctx.addIssue({
            code: "custom",
            path: ["builders", i, key],
            message: `duplicate builder ${what} "${b[key]}" (also builders.${first}.${key})`,
          });
      });
    };
    once("name", "name");
    once("tag", "tag");
    if (p.agree !== undefined && p.agree > p.builders.length) {
      ctx.addIssue({
        code: "custom",
        path: ["agree"],
        message: `${p.agree} builders cannot agree: ${p.builders.length} ${p.builders.length === 1 ? "is" : "are"} configured`,
      });
    }
  })
  .describe("Require verified build provenance (Sigstore, SLSA v1) before pinning a digest that moved.");

export type ProvenanceConfig = z.infer<typeof provenanceSchema>;
