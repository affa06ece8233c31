// `npm run docs`: regenerates docs/config.md from the zod config schema (through the same JSON Schema
// that `npm run schema` commits), so every key, type, default and allowed value in the reference is the
// code's. The prose around it (intro, notes on keys, examples) is template text kept here; the drift test
// (test/docs/config-doc.test.ts) fails when docs/config.md differs from what this renders.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configJsonSchemaText } from "../src/config/json-schema.js";
import { TAG_PLACEHOLDERS } from "../src/config/schema.js";

/** The subset of JSON Schema that z.toJSONSchema produces for the config. */
interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Node[];
  pattern?: string;
  format?: string;
  minLength?: number;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  items?: Node;
  properties?: Record<string, Node>;
  required?: string[];
}

export interface Example {
  title: string;
  text: string;
  /** The YAML, exactly as shown; the test validates it with the real loader. */
  yaml: string;
  /** Only the App reads it (Probot's `_extends`); the test merges it the way Probot does. */
  appOnly?: boolean;
  /** A second file the example needs (the org-wide base of `_extends`). */
  base?: { where: string; yaml: string };
}

const tags = TAG_PLACEHOLDERS.map((p) => `\`{${p}}\``).join(", ");

/**
 * What the schema cannot say: refinements (placeholders), behaviour, and keys zod gives no description.
 * Keyed by key path; a key missing from the schema, or a key with neither a description nor a note, is an
 * error, so renaming a key in the schema cannot leave a stale reference behind.
 */
export const NOTES: Record<string, string> = {
  registry:
    "Zero-config discovery: with no `services`, every image under this prefix found in a job file " +
    "matching `jobs` is a service, named after the last part of its repository " +
    "(`ghcr.io/acme/platform/api` → `api`; when two repositories end in the same name, their path under " +
    "the prefix is used instead). Must be a repository path without tag or digest, lowercase. " +
    "Either `registry` or `services` must be set.",
  branches:
    "A push to any other branch is ignored by the App. The CLI does not use it (it works on the " +
    "checkout you give it).",
  build:
    "How the images are built. The App only reacts to the `workflow_run` of `build.workflow`: " +
    "**the App requires `workflow`**: without it the check run fails with a config error naming " +
    "`build.workflow`, as nothing could ever be planned. The CLI only uses `tag`.",
  "build.workflow":
    "The workflow file name only (`images.yml`, not `.github/workflows/images.yml`). Runs started by a " +
    "`push` or a `workflow_dispatch` count; others are ignored.",
  "build.trigger":
    "`dispatch`: on each push to a deploy branch the App calls `workflow_dispatch` on `build.workflow` " +
    "for that branch with the input `sha` (the pushed commit). A workflow that does not declare a `sha` " +
    "input is dispatched without inputs (GitHub refuses undeclared ones); any other refusal fails the " +
    "check run with GitHub's reason.",
  "build.tag":
    `The tag the build pushes for every image; the bot reads \`<image>:<tag>\` to learn the new digest. ` +
    `Placeholders: ${tags}. In a \`tag+digest\` pin, a tag holding \`{sha}\` or \`{short_sha}\` also ` +
    "tells the bot, later, which commit the pinned image was built from: that is where release notes " +
    "start and what the never-downgrade check compares with (a `digest` pin records it in the deploy " +
    "commit that wrote it, see `pin`).",
  "services[].name": "Must be unique. The key of the service in an `--images` map.",
  "services[].image":
    "Repository without tag or digest (lowercase path). Matches the job files' images in any spelling " +
    "of the same repository (`redis` = `docker.io/library/redis`).",
  "services[].paths":
    "Globs: `**` crosses directories, `*` and `?` do not, `{a,b}` alternates; a path without wildcards " +
    "also covers everything below it. Without `paths` the release notes list no commits.",
  services:
    "The deployable images, one entry each (each item: one deployable image). Leave it out to use " +
    "zero-config discovery under `registry`.",
  "services[].jobs": "When left out: the files matched by the top-level `jobs` that use the image.",
  retag:
    `Same placeholders as \`build.tag\` (${tags}). Only images whose digest did not move are retagged ` +
    "(GET + PUT of the manifest, no blob moved); a tag that already points at the digest is left alone, " +
    "and the build tag just read at that digest is not written again.",
  pin:
    "`digest` (default) writes `repo@sha256:…`; `tag+digest` writes `repo:tag@sha256:…`. Tasks with the " +
    "`podman` driver always get `digest`: nomad-driver-podman parses the image with containers/image, whose " +
    "`docker.NewReference` refuses a reference with both a tag and a digest. A site that reaches its image " +
    "through `repo:${var.tag}` keeps its tag in either style (only the tag literal is editable there).\n\n" +
    "**Why not `tag+digest`.** Nomad's Docker driver (the same code path since Nomad 0.8, before and " +
    "after 1.9.0 moved it to Docker's SDK, hashicorp/nomad#23966, in the newest source read) does this with " +
    "`repo:tag@sha256:…`: `createImage` (`drivers/docker/driver.go`) inspects the whole string locally " +
    "and uses a hit; otherwise `parseDockerImage` (`drivers/docker/utils.go`) cuts everything from `@` " +
    "and keeps the tag, and `pullImageImpl` (`drivers/docker/coordinator.go`) pulls `repo:tag`, by tag, " +
    "then inspects the whole string again. Docker 24–28 answers that inspect by the digest alone: the " +
    "classic store's reference `Get` (moby `reference/store.go`) trims the tag off with " +
    "`reference.TrimNamed` and looks up `repo@sha256:…`, which a pull by tag recorded only for the digest " +
    "the tag named at that moment (`distribution/pull_v2.go`, `addDigestReference`); the containerd image " +
    "store's `resolveImage` (`daemon/containerd/image.go`) matches only an image whose target is the " +
    "pinned digest. So on a node that does not hold the image yet, a tag+digest pin starts only while its " +
    "tag still names the pinned digest. A tag pushed again (a re-run of a build that is not reproducible; " +
    "a `{branch}` tag, on every build) makes the task fail with `No such image` after downloading an " +
    "image it was not pinned to; a tag deleted (a registry retention policy pruning old build tags) makes " +
    "the pull fail with `manifest unknown` although the pinned digest is still there. This is " +
    "hashicorp/nomad#11821, open since Nomad 1.2.3 (a maintainer traced it to the inspect of the whole " +
    "string in `coordinator.go`) and reported again on 1.5.9. `repo@sha256:…` is pulled by digest and " +
    "inspected by digest (`parseDockerImage` keeps the whole string as the repository when there is no " +
    "tag; hashicorp/nomad#4298, Nomad 0.8) and has neither failure.\n\n" +
    "**Where the tag's information lives now.** A pin's tag told the bot which commit the pinned image was " +
    "built from: release notes start there, and a build older than it is not deployed. For a `digest` pin " +
    "the bot reads that from its own deploy commit that wrote the pin: the message lists " +
    "`- SERVICE: OLD → NEW (files)` (the first 12 hex digits of each digest) and ends with the " +
    "`Nomad-Gitops-Build: <sha>` trailer, found in the history of the job files (100 commits per file, " +
    "one listing for all services). A pin committed under another message (the CLI's `apply` committed " +
    "by hand; a squash merge set to the PR title and description) is traced, when its service moves, " +
    "through the registry: the build tag (`build.tag` with `{sha}` or `{short_sha}`) of one of the last 5 " +
    "commits touching its job file, or of such a commit's parent, that names the pinned digest (at most " +
    "10 HEADs). A pin neither records (written by hand to an image under another tag) records no commit: " +
    "the release notes say why, and only the open deploy PR's base still stops an older build. Existing " +
    "`tag+digest` pins keep working: their tag is still read, an unchanged service's line is never " +
    "touched, and a moved service's line, rewritten anyway, gets the configured style. `tag+digest` stays " +
    "available for clusters whose build tags are never pushed again or deleted.",
  pr: "The one rolling deploy PR (App). The CLI's `apply` uses `title` for its commit message and prints it.",
  "pr.branch":
    "The bot's branch. It is rewritten (one commit on top of the deploy branch) on every deploy and " +
    "deleted when the PR is merged; the bot never overwrites commits it did not make. The CLI ignores it: " +
    "`apply --commit BRANCH` names its branch.",
  "pr.labels": "Added to the PR when missing; labels people add stay.",
  "pr.title":
    `Placeholders: \`{services}\` (the moved services, \`a, b and 3 more\` past four) and ${tags}. ` +
    "Cut at 256 characters.",
  release_notes: "Where each deploy's release notes go (besides the PR body).",
  "release_notes.file":
    "A path inside the repository. `{job_dir}`: the directory of each job file the service's pin lives in " +
    "(one file per directory); `{service}`: the service name. A new section is added at the top for each " +
    "deploy (a re-run of the same build replaces its own section). `false`: PR body only.",
  "release_notes.github_release":
    "App only: a draft GitHub release per deploy listing every service's digest (moved and unchanged).",
  jobs: "Every matching file is read; files the parser refuses are reported and skipped.",
  "nomad.address": "Nomad API address.",
  "nomad.namespace": "Nomad namespace.",
  "nomad.region": "Nomad region.",
  provenance:
    "Off when left out (nothing is checked or requested). With it, each moved or new digest is pinned only " +
    "when one of its attestations (GitHub's attestations API, or OCI referrers in the registry) verifies " +
    "against a trusted root and its certificate names this repository (and its id), the workflow at the ref, " +
    "the build commit, an allowed trigger and runner; otherwise the service is `unverified` with the failing " +
    "check and keeps its old pin. Unchanged services are not checked again. See docs/supply-chain.md.",
  "provenance.signer":
    "`owner/repo/.github/workflows/file.yml@ref`: the certificate's SAN and Build Signer URI must be exactly " +
    "this, and its Build Config URI this repository's `workflow` at `ref`.",
  "provenance.ref":
    "A full ref, `refs/heads/<branch>` or `refs/tags/<tag>`; compared exactly, never as a prefix.",
  "provenance.builders":
    "Each moved or new digest D (not `exempt`, not `not_reproducible`) is looked up under each builder's tag " +
    "(one HEAD each) and that builder's attestation of D is verified for its own identity: a keyless " +
    "builder's certificate as for the build (this repository, the commit, its `workflow` at `ref`, " +
    "`triggers`, `runner`), a key builder's signature with its `key`. D is pinned when `agree` builders " +
    "verified it and none pushed another digest. A builder that has not pushed yet leaves the service at its " +
    "old pin, `awaiting builders (1/2)`; a builder that pushed another digest stops the pin, and how the two " +
    "images differ (timestamps, file order, …) is the reason. Nothing is asked for unchanged services. The " +
    "App plans again when a builder's workflow run completes; the Action and the CLI on their next run. See " +
    "docs/supply-chain.md.",
  "provenance.builders[].tag":
    "Must name the commit (`{sha}` or `{short_sha}`). A builder whose tag is the build's own tag costs no " +
    "request: its digest is the build's.",
  "provenance.trusted_root":
    "Read from the deploy branch like the config. Without it, the two roots pinned in the bot's package " +
    "are used, each dated: public-good Sigstore (public repositories) and GitHub's own instance (private " +
    "repositories); the certificate's CA picks one. The file replaces both, as gh's `--custom-trusted-root` " +
    "does: list every root you trust (`gh attestation trusted-root` prints both). See docs/supply-chain.md.",
};

export const EXAMPLES: Example[] = [
  {
    title: "Minimal: zero-config discovery (CLI)",
    text:
      "Every image under the prefix in `**/*.nomad` and `**/*.nomad.hcl` becomes a service; the build " +
      "pushes `<image>:<full commit sha>`; job files are pinned `repo:tag@sha256:…`; notes go to " +
      "`RELEASES.md` (without commit lists, as no service has `paths`).",
    yaml: "registry: ghcr.io/acme/platform\n",
  },
  {
    title: "Minimal for the App",
    text:
      "The App acts on the completed run of the build workflow, so it must know its file name. " +
      "The workflow runs on push, builds every image and pushes each as `<image>:<sha>`.",
    yaml: "registry: ghcr.io/acme/platform\nbuild:\n  workflow: images.yml\n",
  },
  {
    title: "Explicit services with source paths and job files",
    text:
      "Release notes list, per moved service, the commits that touched its `paths` since the commit its " +
      "old pin was built from. `jobs` narrows which files a service is pinned in (for example to keep a " +
      "staging job on its own schedule).",
    yaml: [
      "branches: [main]",
      "build:",
      "  workflow: images.yml",
      "services:",
      "  - name: api",
      "    image: ghcr.io/acme/platform/api",
      '    paths: ["services/api/**", "protos/**"]',
      "  - name: web",
      "    image: ghcr.io/acme/platform/web",
      '    paths: ["services/web/**"]',
      '    jobs: ["nomad/prod/web.nomad.hcl"]',
      "",
    ].join("\n"),
  },
  {
    title: "The App dispatches the build",
    text:
      "With `trigger: dispatch` the App starts the workflow itself on each push to a deploy branch, passing " +
      "the pushed commit as the input `sha` (declare it to build exactly that commit; without it the App " +
      "dispatches with no inputs and the branch head is built). The App then plans the commit the run " +
      "reports (`github.sha` in the workflow): tag the images with that.\n\n" +
      "```yaml\non:\n  workflow_dispatch:\n    inputs:\n      sha:\n        required: false\n```",
    yaml: [
      "registry: ghcr.io/acme/platform",
      "build:",
      "  workflow: images.yml",
      "  trigger: dispatch",
      '  tag: "{short_sha}"',
      "",
    ].join("\n"),
  },
  {
    title: "More tags on unchanged images",
    text:
      "An image whose digest did not move gets the tags it lacks from this list (one GET and one PUT of " +
      "its manifest per tag, no layer moved). Moved images only carry the tag their build pushed. The " +
      "default `{sha}` matters with the CLI's `--images`, where unchanged archives are not pushed; with the " +
      "App the build pushes every image under `build.tag` anyway (an image missing under that tag is " +
      "reported as not built, never retagged).",
    yaml: [
      "registry: ghcr.io/acme/platform",
      "build:",
      "  workflow: images.yml",
      '  tag: "{sha}"',
      'retag: ["{sha}", "{short_sha}"]',
      "",
    ].join("\n"),
  },
  {
    title: "Pin styles",
    text:
      'The default `tag+digest` turns `image = "ghcr.io/acme/platform/api:latest"` into ' +
      '`image = "ghcr.io/acme/platform/api:<sha>@sha256:…"`; `digest` writes ' +
      '`image = "ghcr.io/acme/platform/api@sha256:…"` (and loses the commit the tag recorded, see `pin`). ' +
      "podman tasks get `digest` either way.",
    yaml: "registry: ghcr.io/acme/platform\npin: digest\n",
  },
  {
    title: "Release notes next to each job",
    text:
      "One `CHANGELOG.md` in every directory that holds a moved service's job file, and no draft release. " +
      'With `{service}` instead, one file per service: `file: "docs/releases/{service}.md"`.',
    yaml: [
      "registry: ghcr.io/acme/platform",
      "build:",
      "  workflow: images.yml",
      "release_notes:",
      '  file: "{job_dir}/CHANGELOG.md"',
      "  github_release: false",
      "",
    ].join("\n"),
  },
  {
    title: "Organisation-wide defaults with `_extends` (App only)",
    text:
      "Probot's config loader reads `_extends: <repo>` (or `<owner>/<repo>:<path>.yml`) and merges the " +
      "repository's file over that one **key by key at the top level**: a `pr:` in the repository replaces " +
      "the whole `pr:` of the base. A repository without its own file uses the organisation's `.github` " +
      "repository's `.github/nomad-gitops.yml` as it is. The CLI reads only the repository's own file and " +
      "rejects `_extends` as an unknown key.",
    base: {
      where: "the organisation's `.github` repository (here `acme/.github`), file `.github/nomad-gitops.yml`",
      yaml: [
        "build:",
        "  workflow: images.yml",
        "pr:",
        "  labels: [deploy]",
        "release_notes:",
        '  file: "{job_dir}/CHANGELOG.md"',
        "  github_release: false",
        "",
      ].join("\n"),
    },
    yaml: "_extends: .github\nregistry: ghcr.io/acme/platform\n",
    appOnly: true,
  },
];

const INTRO = `# Configuration reference: \`.github/nomad-gitops.yml\`

<!-- Generated by \`npm run docs\` (scripts/gen-config-doc.ts) from src/config/schema.ts: do not edit by hand. -->

One YAML file in the monorepo tells the bot where images live, which job files to pin, and how to
write the PR and release notes. The App reads it at the commit it works on through Probot's config loader
(so an organisation-wide file and \`_extends\` work, see the last example); the CLI reads
\`.github/nomad-gitops.yml\` under \`--repo\`.

- Set \`registry\` (zero-config discovery) or list \`services\`; everything else has a default.
- Unknown keys are errors, so a typo is never silently ignored. Every problem is reported with its key
  path, e.g. \`services.1.image: must be an image repository without tag or digest, …\`: the App shows
  them in a failed \`nomad-gitops\` check run (also on a PR that changes the file), the CLI prints them
  and exits 2.
- Paths and globs (\`jobs\`, \`services[].jobs\`, \`services[].paths\`, \`vars\` globs and files) are
  relative to the repository root: one with a leading \`/\` or a \`..\` part is such an error
  (\`jobs.0: "../infra/*.nomad" is outside the repository: …\`). A glob that selects nothing (a \`jobs\`
  glob matching no file, a \`vars\` glob matching no job file) or a \`vars\` file that does not exist is
  reported by its key (\`config vars["deploy/*.nomad.hcl"]: … matches no job file\`) and makes the plan
  incomplete: the CLI exits 1, the check run and the Action's step fail, an open deploy PR is not
  closed on it.
- A YAML anchor may be expanded at most 100 times (counting the aliases inside it): a "billion laughs"
  document of nested aliases is an invalid config naming the key where it explodes (the App, whose
  loader bounds aliases the same way, names the file and the reason), never a run that exhausts memory.
  The CLI, the Action and the App refuse a config file over 1 MiB (\`the file is N KiB; a config may
  be at most 1024 KiB\`: exit 2 for the CLI, a failed check run for the App and the Action); the App
  refuses it as it arrives, before Probot's loader parses it.
- A job file over 8 MiB is not read: it is that file's error (\`the file is N KiB; a job file may be at
  most 8192 KiB (8 MiB): split it into several job files\`), reported like a file that does not parse,
  in the CLI, the Action and the App alike; the other job files proceed. The bound comes from \`npm run
  bench -- memory\`: a 5 MiB job file peaks at about 280 MiB of RSS (\`plan\`, \`apply\`), growing by about
  15 MiB per further MiB, so 8 MiB fits the App's 512 MiB container with room to spare. Files over
  256 KiB are read a few hundred KiB at a time, and HashiCorp's parser (the referee) proves each edit on
  the group (or top-level block) that holds it rather than on the whole file (docs/architecture.md).
- The committed JSON Schema (\`schema/nomad-gitops.schema.json\`) gives editors completion and checks;
  with the YAML language server, start the file with
  \`# yaml-language-server: $schema=<URL or path of that file>\`.
`;

const PLACEHOLDERS = `## Placeholders

| placeholder | in | becomes |
|---|---|---|
| \`{sha}\` | \`build.tag\`, \`retag\`, \`pr.title\` | the built commit, 40 hex characters |
| \`{short_sha}\` | \`build.tag\`, \`retag\`, \`pr.title\` | its first 7 characters |
| \`{branch}\` | \`build.tag\`, \`retag\`, \`pr.title\` | the deploy branch, with characters a tag cannot hold turned into \`-\` (\`feat/x\` → \`feat-x\`) |
| \`{services}\` | \`pr.title\` | the moved services |
| \`{job_dir}\` | \`release_notes.file\` | the directory of a moved service's job file |
| \`{service}\` | \`release_notes.file\` | the service name |

Any other \`{…}\` is rejected. Tags must otherwise be valid image tags (letters, digits, \`_\`, \`.\`, \`-\`).
`;

// --- rendering ----------------------------------------------------------------------------------------

const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|");

function typeOf(node: Node): string {
  if (node.anyOf) return node.anyOf.map(typeOf).join(" \\| ");
  if (node.const !== undefined) return code(JSON.stringify(node.const));
  if (node.enum) return node.enum.map((v) => code(JSON.stringify(v))).join(" \\| ");
  if (node.type === "array")
    return `list of ${node.items ? typeOf(node.items).replace(/^object$/, "mappings") : "values"}`;
  if (node.type === "object") return "mapping";
  if (node.type === "string" && node.format === "uri") return "URL";
  return node.type ?? "any";
}

/** Constraints the schema states, in words; long patterns are explained by a note instead. */
function constraints(node: Node, key: string): string[] {
  const out: string[] = [];
  if (node.minItems !== undefined)
    out.push(`at least ${node.minItems} item${node.minItems === 1 ? "" : "s"}`);
  const item = node.items ?? node;
  if (node.minimum !== undefined) out.push(`at least ${node.minimum}`);
  if (node.maximum !== undefined) out.push(`at most ${node.maximum}`);
  if (item.minLength !== undefined) out.push(node.items ? "items not empty" : "not empty");
  if (item.pattern !== undefined) {
    if (item.pattern.length <= 40) out.push(`matches ${code(item.pattern)}`);
    else if (!NOTES[key]) throw new Error(`${key}: a long pattern needs a note in NOTES to explain it`);
  }
  return out;
}

function defaultOf(node: Node): string {
  if (node.default === undefined) return "—";
  if (typeof node.default === "object" && node.default !== null && !Array.isArray(node.default))
    return "see below";
  return code(JSON.stringify(node.default));
}

interface Row {
  key: string;
  node: Node;
  required: boolean;
}

/** Every key of the schema, depth first, with `[]` for the items of a list of mappings. */
function walk(node: Node, prefix: string, rows: Row[]): void {
  const props = node.properties ?? {};
  for (const [name, child] of Object.entries(props)) {
    const key = prefix ? `${prefix}.${name}` : name;
    rows.push({ key, node: child, required: node.required?.includes(name) ?? false });
    if (child.properties) walk(child, key, rows);
    if (child.items?.properties) walk(child.items, `${key}[]`, rows);
  }
}

/** GitHub's anchor for "### `key`": lowercased, punctuation other than "-" and "_" dropped. */
const anchor = (key: string) =>
  key
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

export function configDocText(): string {
  const schema = JSON.parse(configJsonSchemaText()) as Node;
  const rows: Row[] = [];
  walk(schema, "", rows);
  const keys = new Set(rows.map((r) => r.key));
  for (const key of Object.keys(NOTES)) {
    if (!keys.has(key)) throw new Error(`NOTES names "${key}", which the schema does not have`);
  }

  const out = [INTRO, "## Keys", "", "| key | type | default |", "|---|---|---|"];
  for (const r of rows) {
    out.push(`| [${code(r.key)}](#${anchor(r.key)}) | ${typeOf(r.node)} | ${cell(defaultOf(r.node))} |`);
  }
  out.push("");
  for (const r of rows) {
    const description = r.node.description;
    const note = NOTES[r.key];
    if (!description && !note) throw new Error(`${r.key} has neither a description in the schema nor a note`);
    out.push(`### ${code(r.key)}`, "");
    const facts = [`Type: ${typeOf(r.node)}`];
    if (r.required) facts.push("required");
    if (r.node.default !== undefined) facts.push(`default: ${code(JSON.stringify(r.node.default))}`);
    facts.push(...constraints(r.node, r.key));
    out.push(`${facts.join(" · ")}.`, "");
    if (description) out.push(description, "");
    if (note) out.push(note, "");
  }
  out.push(PLACEHOLDERS, "## Examples", "");
  for (const e of EXAMPLES) {
    out.push(`### ${e.title}`, "", e.text, "");
    if (e.base)
      out.push(
        `In ${e.base.where}:`,
        "",
        "```yaml",
        e.base.yaml.trimEnd(),
        "```",
        "",
        "In the repository:",
        "",
      );
    out.push("```yaml", e.yaml.trimEnd(), "```", "");
  }
  return `${out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}

export const CONFIG_DOC = fileURLToPath(new URL("../docs/config.md", import.meta.url));

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_DOC, configDocText());
  process.stderr.write(`wrote ${CONFIG_DOC}\n`);
}
