// The one source of truth for `.github/nomad-gitops.yml`: TypeScript types, validation with key paths in
// the messages, and (through scripts/gen-schema.ts) the committed JSON Schema for editors.
import { z } from "zod";
import { REPOSITORY_PATTERN, isRepositoryName } from "../image/reference.js";
import { provenanceSchema } from "./provenance.js";

/**
 * `jobs` when the config leaves it out: alternatives, so one of them matching no file is normal. The
 * last one is Nomad Pack's job templates (read as templates; their values in the pack's variables.hcl).
 */
export const DEFAULT_JOB_GLOBS: readonly string[] = [
  "**/*.nomad",
  "**/*.nomad.hcl",
  "**/*.nomad.json",
  "**/templates/*.nomad.tpl",
];

/** Placeholders a tag template may use; anything else in braces is a typo we want to catch. */
export const TAG_PLACEHOLDERS = ["sha", "short_sha", "branch"] as const;

// A repository without tag or digest, by the one image-reference grammar (src/image).
const repository = (what: string) => {
  const message = `must be ${what} without tag or digest, e.g. "ghcr.io/acme/platform/banana" (lowercase path)`;
  // The pattern goes into the JSON Schema for editors; the refinement is the exact rule.
  return z.string().regex(REPOSITORY_PATTERN, { message, abort: true }).refine(isRepositoryName, { message });
};

const placeholders = (allowed: readonly string[]) => (value: string) =>
  [...value.matchAll(/\{([^{}]*)\}/g)].every((m) => allowed.includes(m[1]!));

const tagTemplate = z
  .string()
  .min(1, "must not be empty")
  .refine(placeholders(TAG_PLACEHOLDERS), {
    message: `may only use the placeholders ${TAG_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
  })
  .refine((value) => /^[A-Za-z0-9_{][A-Za-z0-9_.{}-]*$/.test(value), {
    message: "must be a valid image tag (letters, digits, '_', '.', '-') apart from the placeholders",
  })
  .describe("Image tag template: {sha}, {short_sha} (7 characters), {branch} (sanitised for tags).");

/**
 * Why a repository-relative path or glob as written cannot name a file of the repository; null when it
 * can. Files are listed from the repository, so such a glob would otherwise only "match no file".
 */
export function outsideRepository(value: string): string | null {
  const parts = value.split("/");
  if (value.startsWith("/") || parts[0] === "..")
    return `${JSON.stringify(value)} is outside the repository: write it relative to the repository root (no leading "/", no "..")`;
  if (parts.includes(".."))
    return `${JSON.stringify(value)} has a ".." part, which is not resolved: write the path without it`;
  return null;
}

/** A path or glob inside the repository. */
const repoPath = z
  .string()
  .min(1, "must not be empty")
  .superRefine((value, ctx) => {
    const why = outsideRepository(value);
    if (why !== null) ctx.addIssue({ code: "custom", message: why });
  });
const glob = repoPath;

const service = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be letters, digits, '.', '_' or '-'")
      .describe("Service name used in PR titles, comments and --images maps."),
    image: repository("an image repository").describe("Image repository the build pushes to."),
    paths: z
      .array(glob)
      .default([])
      .describe("Globs of source paths whose commits go into this service's release notes."),
    jobs: z
      .array(glob)
      .min(1, "must list at least one glob (or leave `jobs` out to search every job file)")
      .optional()
      .describe("Globs of the job files to pin; default: every job file that uses the image."),
  })
  .describe("One deployable image.");

export const configSchema = z
  .strictObject({
    registry: repository("an image prefix")
      .optional()
      .describe("Image prefix for zero-config discovery, e.g. ghcr.io/acme/platform."),
    branches: z
      .array(z.string().min(1, "must not be empty"))
      .min(1, "must list at least one branch")
      .optional()
      .describe("Deploy branches; default: the repository's default branch."),
    build: z
      .strictObject({
        workflow: z
          .string()
          .regex(/^[^/]+\.ya?ml$/, 'must be a workflow file name such as "images.yml"')
          .optional()
          .describe("File name of the workflow that builds and pushes the images."),
        trigger: z
          .enum(["push", "dispatch"])
          .default("push")
          .describe("push: wait for the run the push started; dispatch: dispatch the workflow."),
        tag: tagTemplate.default("{sha}"),
      })
      .default({ trigger: "push", tag: "{sha}" }),
    services: z.array(service).min(1, "must list at least one service (or leave it out)").optional(),
    retag: z
      .array(tagTemplate)
      .default(["{sha}"])
      .describe("Tags added to images whose digest did not move."),
    pin: z
      // No tag-only style: the digest in the file is what "unchanged" is measured against.
      .enum(["tag+digest", "digest"])
      .default("digest")
      .describe(
        "How job files pin images: repo@sha256:… (default), or repo:tag@sha256:…, which Nomad's Docker driver pulls by its tag (see below); podman always gets digest.",
      ),
    compare: z
      .enum(["content", "manifest"])
      .default("content")
      .describe(
        "When a tag's digest moved: content: the same config digest per platform (same files, same runtime config, only re-encoded) stays unchanged and keeps its pin; manifest: every digest change is deployed.",
      ),
    pr: z
      .strictObject({
        branch: z.string().min(1, "must not be empty").default("nomad-gitops/deploy"),
        labels: z.array(z.string().min(1, "must not be empty")).default([]),
        title: z
          .string()
          .min(1, "must not be empty")
          .refine(placeholders(["services", ...TAG_PLACEHOLDERS]), {
            message: "may only use the placeholders {services}, {sha}, {short_sha}, {branch}",
          })
          .default("Deploy {services}"),
      })
      .default({ branch: "nomad-gitops/deploy", labels: [], title: "Deploy {services}" }),
    release_notes: z
      .strictObject({
        file: z
          .union([z.string().min(1, "must not be empty"), z.literal(false)], {
            error: "must be a file path (may use {job_dir}, {service}) or false",
          })
          .refine((file) => file === false || placeholders(["job_dir", "service"])(file), {
            message: "may only use the placeholders {job_dir}, {service}",
          })
          .refine((file) => file === false || (!file.startsWith("/") && !file.split("/").includes("..")), {
            message: "must be a path inside the repository (no leading / or ..)",
          })
          .default("RELEASES.md")
          .describe("Release notes file; {job_dir}/{service} make one per service; false: PR body only."),
        github_release: z
          .union([z.literal("draft"), z.literal(false)], { error: 'must be "draft" or false' })
          .default(false)
          .describe("draft: also create a draft GitHub release listing every digest."),
      })
      .default({ file: "RELEASES.md", github_release: false }),
    jobs: z
      .array(glob)
      .min(1, "must list at least one glob")
      .default([...DEFAULT_JOB_GLOBS])
      .describe(
        "Globs of the Nomad job files to scan (HCL, or JSON as `nomad job run -json` takes it), and of Nomad Pack job templates (`<pack>/templates/*.nomad.tpl`, whose image values are pinned in the pack's variables.hcl).",
      ),
    vars: z
      .record(glob, z.array(repoPath).min(1, "must list at least one var file"))
      .default({})
      .describe(
        "Var files (`name = value`, as for `nomad job run -var-file`) per job glob, in -var-file order, e.g. " +
          '{"deploy/*.nomad.hcl": ["deploy/prod.vars.hcl"]}. They come after <job>.vars.hcl beside the job file, ' +
          "which is always read; a later file wins. An image whose value comes from a var file is pinned there. " +
          'For a Nomad Pack template the files are its values files (`-var-file` overrides of the pack\'s variables.hcl defaults), e.g. {"packs/shop/templates/*.nomad.tpl": ["deploy/shop.prod.hcl"]}: a value set there wins over the default and is pinned there.',
      ),
    dashboard: z
      .boolean()
      .default(false)
      .describe(
        "Keep a deploy dashboard issue up to date after each plan: every service's pinned digest, tag and build commit, when it last moved, what the deploy PR has pending, the cluster's digests and rollouts (with nomad), and checkboxes to plan or retag again.",
      ),
    nomad: z
      .strictObject({
        address: z.url({ message: 'must be a URL such as "https://nomad.example:4646"' }).optional(),
        namespace: z.string().min(1).optional(),
        region: z.string().min(1).optional(),
        submit: z
          .boolean()
          .default(false)
          .describe(
            "Submit merged job files to Nomad (POST /v1/jobs), for setups without a GitOps reconciler.",
          ),
        environment: z
          .string()
          .min(1, "must not be empty")
          .default("production")
          .describe("GitHub Deployment environment for rollouts after a deploy PR merges."),
        timeout_ms: z
          .number()
          .int()
          .min(100, "must be at least 100")
          .max(60_000, "must be at most 60000")
          .default(5_000)
          .describe("Per-request timeout for Nomad API calls (the token comes from NOMAD_TOKEN only)."),
        follow_minutes: z
          .number()
          .int()
          .min(0, "must be at least 0")
          .max(180, "must be at most 180")
          .default(15)
          .describe(
            "After a merge, keep re-checking a running rollout for this long and post each new state as a deployment status; 0: report the state at merge time only.",
          ),
      })
      .optional()
      .describe("Optional Nomad API access for plans and rollout status."),
    provenance: provenanceSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.services === undefined && config.registry === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["registry"],
        message: "set `registry` (the image prefix for zero-config discovery) or list `services`",
      });
    }
    if (
      config.provenance?.require &&
      config.provenance.workflow === undefined &&
      config.build.workflow === undefined
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["provenance", "workflow"],
        message: "set `provenance.workflow` or `build.workflow`: the workflow whose attestations are trusted",
      });
    }
    const seen = new Map<string, number>();
    config.services?.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "name"],
          message: `duplicate service name "${s.name}" (also services.${first}.name)`,
        });
      } else seen.set(s.name, i);
    });
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ServiceConfig = NonNullable<Config["services"]>[number];

export interface ConfigError {
  /** Dotted key path ("services.1.image"); "" for the document itself. */
  path: string;
  message: string;
}

export type ParseConfigResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/** Validates a parsed YAML/JSON document (null or undefined = empty file = all defaults). */
export function parseConfig(raw: unknown): ParseConfigResult {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, errors: result.error.issues.map((issue) => toConfigError(issue, raw ?? {})) };
}

// zod does not put the offending value on the issue by default: look it up in the document.
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

// A key such as a glob (`vars`) is quoted so the dotted path stays readable.
const pathPart = (part: PropertyKey) =>
  typeof part === "number" || /^[\w-]+$/.test(String(part)) ? String(part) : JSON.stringify(String(part));

function toConfigError(issue: z.core.$ZodIssue, raw: unknown): ConfigError {
  const path = issue.path.map(pathPart).join(".");
  // A record key that failed its own schema: say why, not only "Invalid key in record".
  if (issue.code === "invalid_key" && issue.issues[0] !== undefined)
    return { path, message: issue.issues[0].message };
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    return { path, message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${keys}` };
  }
  const input = valueAt(raw, issue.path);
  if (issue.code === "invalid_type" && input === undefined) {
    return { path, message: `is required (${issue.expected})` };
  }
  if (issue.code === "invalid_value" && issue.values.length > 1) {
    return { path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` };
  }
  if (issue.code === "invalid_type") {
    return { path, message: `must be ${article(issue.expected)}, got ${describe(input)}` };
  }
  return { path, message: issue.message };
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** "services.1.image: must be …" lines, as the check run and the CLI print them. */
export function formatConfigErrors(errors: ConfigError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("\n");
}
