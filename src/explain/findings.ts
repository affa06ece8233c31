// What the differences of one platform mean: each level that differs (manifest only, compressed layer
// bytes with equal diff_ids, layer order, config timestamps, file order, tar bytes, whiteouts, file
// metadata, real content) named with its likely cause and a remedy. Pure; part of the explanation's
// stable JSON (`explain --json`).
import type { FileChange, Finding, PlatformExplanation } from "./types.js";

/** What a whiteout entry that differs does to the file system ("deletes etc/x"). */
export function whiteoutEffect(f: FileChange): string {
  const w = f.whiteout!;
  const verb = w.kind === "file" ? "deletes" : "hides what lower layers hold under";
  if (f.kind === "added") return `${verb} ${w.target}`;
  if (f.kind === "removed") return `no longer ${verb} ${w.target}`;
  return `${w.kind === "file" ? "whiteout of" : "opaque whiteout of"} ${w.target}: ${(f.aspects ?? []).join(", ")}`;
}

const TIMESTAMP_FIELDS = new Set(["created", "history"]);

export function findingsOf(p: Omit<PlatformExplanation, "findings">): Finding[] {
  const out: Finding[] = [];
  const files = p.layers.changes.flatMap((l) => l.files ?? []);
  const contentChanges = p.layers.changes.length > 0;
  if (p.manifests.a !== p.manifests.b && p.configs.a === p.configs.b && !contentChanges) {
    if ((p.layers.recompressed ?? []).length > 0) {
      out.push({
        level: "layer-encoding",
        what: `${p.layers.recompressed!.length} layer(s) hold the same files (same diff_id) but other compressed bytes`,
        cause:
          "compression differs: gzip header mtime or OS byte, compression level or implementation (a Go, skopeo or builder upgrade), zstd instead of gzip, or re-compression on push",
        remedy:
          "copy with `skopeo copy --preserve-digests` (or crane copy), pin the compressor and level, write gzip headers with mtime 0; `compare: content` (the default) keeps such builds unchanged",
      });
    } else {
      out.push({
        level: "manifest",
        what: "only the manifest differs: same config, same layer blobs",
        cause: "manifest annotations (e.g. a created time), media types (Docker vs OCI) or field order",
        remedy:
          "do not stamp annotations per build (use SOURCE_DATE_EPOCH), keep one manifest format; `compare: content` keeps such builds unchanged",
      });
    }
  }
  const reordered = p.layers.reordered ?? [];
  if (reordered.length > 0) {
    out.push({
      level: "layer-order",
      what: `same layers, different order: ${reordered.map((r) => `layer ${r.a + 1} → ${r.b + 1}`).join(", ")}`,
      cause:
        "the build ran its steps in another order (Dockerfile instructions, COPY order, a changed layer grouping in Nix, Bazel or ko)",
      remedy:
        "a real change for the runtime (upper layers win where paths overlap, whiteouts act on what lies below): deploy it; if unintended, fix the order of the build steps",
    });
  }
  if (p.config.length > 0 && p.config.every((c) => TIMESTAMP_FIELDS.has(c.field.split(" ")[0]!))) {
    out.push({
      level: "config-timestamps",
      what: `config differs only in ${p.config.map((c) => c.field).join(", ")}`,
      cause: "the build stamps the current time into the image config",
      remedy:
        "set SOURCE_DATE_EPOCH (buildkit, kaniko, buildah) or use a builder that is deterministic by default (Nix dockerTools, Bazel rules_oci, ko)",
    });
  } else if (p.config.length > 0) {
    out.push({
      level: "config",
      what: `config differs: ${p.config.map((c) => c.field).join(", ")}`,
      cause:
        "a real change of the runtime configuration (env, labels, entrypoint, user…) or a value stamped per build",
      remedy:
        "if the value is per build (a commit SHA, a date), move it out of the image or make it an input",
    });
  }
  const whiteoutsOnly = files.length > 0 && files.every((f) => f.whiteout !== undefined);
  const metadataOnly =
    files.length > 0 &&
    files.every(
      (f) =>
        f.kind === "changed" &&
        !f.aspects?.includes("content") &&
        !f.aspects?.includes("type") &&
        !f.aspects?.includes("link"),
    );
  // Every changed layer pair was read and holds the same files: only the archive bytes differ.
  const sameFiles =
    contentChanges &&
    p.layers.changes.every((l) => l.a !== null && l.b !== null && l.files !== undefined) &&
    files.length === 0;
  if (sameFiles && p.layers.changes.some((l) => l.entryOrder === "differs")) {
    out.push({
      level: "file-order",
      what: "same files with the same metadata, in another order inside the layer",
      cause:
        "the archive was written in directory-listing order, which depends on the file system or the build tool's version, instead of sorted by path",
      remedy:
        "write layers with sorted entries (buildkit, ko, Nix and Bazel sort them; for hand-made tars `tar --sort=name`)",
    });
  } else if (sameFiles) {
    out.push({
      level: "tar-encoding",
      what: "same files in the same order, but other tar bytes (headers, padding or end-of-archive blocks)",
      cause: "another tar writer or version: pax vs ustar headers, extra pax records (atime, ctime), padding",
      remedy: "keep the build tool and its version fixed, or normalize layers with a deterministic builder",
    });
  } else if (whiteoutsOnly) {
    out.push({
      level: "whiteouts",
      what: `the layers differ only in whiteouts: ${files.map(whiteoutEffect).join("; ")}`,
      cause:
        "a build step deletes or replaces files of a lower layer (rm, a cleanup step, a directory re-created), or the builder writes opaque directories where another writes single whiteouts",
      remedy:
        "a real change of the running file system if the path exists below: deploy it; if unintended, delete files in the step that creates them, keep one builder, or squash the layers",
    });
  } else if (metadataOnly) {
    const aspects = [...new Set(files.flatMap((f) => f.aspects ?? []))].sort();
    out.push({
      level: "file-metadata",
      what: `${files.length} file(s) differ only in ${aspects.join(", ")}`,
      cause: aspects.includes("mtime")
        ? "file mtimes taken from the build time or checkout"
        : "file modes or owners depend on the build machine (umask, user)",
      remedy:
        "SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), `--mtime`/`--owner` on tar, or Nix/Bazel/ko which normalize file metadata",
    });
  } else if (contentChanges) {
    out.push({
      level: "content",
      what: `${p.layers.changes.length} layer(s) hold other files`,
      cause: "a real change (or non-reproducible output such as embedded build times or random names)",
      remedy:
        "if no commit explains it, rebuild the same commit twice and compare with `nomad-gitops-bot explain`",
    });
  }
  return out;
}
