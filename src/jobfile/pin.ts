// Pins image sites to digests by splicing string literals, back to front: every character outside the
// edited literals stays as it was (CRLF, tabs, comments, non-ASCII, a missing final newline).
import { type ImageSite, JobFileError, type SiteDetail, analyseJobFile } from "./jobfile.js";
import { formatImageRef, parseImageRef, repositoryOf, sameRepository } from "../image/reference.js";
import { type Splice, verifyPin, written } from "./verify.js";

export { JobFileError } from "./jobfile.js";
export { PinVerificationError } from "./verify.js";

export type PinStyle = "tag+digest" | "digest";

/** tag given: set that tag; absent: keep the file's tag */
export interface PinTarget {
  repository: string;
  digest: string;
  tag?: string;
}

export interface PinEdit {
  line: number;
  job: string | null;
  group: string | null;
  task: string | null;
  before: string;
  after: string;
  via: ImageSite["via"];
}

export interface PinOutcome {
  text: string;
  edits: PinEdit[];
  skipped: Array<{ line: number; repository: string; reason: string }>;
}

/**
 * Default style tag+digest; podman driver → digest. Throws JobFileError (invalid HCL2, has .line) or
 * PinVerificationError (an edit failed verification: nothing returned). Sites whose repository is in
 * no target are untouched.
 */
export async function pinImages(
  text: string,
  targets: PinTarget[],
  options: { style?: PinStyle } = {},
): Promise<PinOutcome> {
  for (const t of targets) validateTarget(t);
  const analysis = await analyseJobFile(text);
  if (!analysis.ok) throw new JobFileError(analysis.error, analysis.line);

  const edits: PinEdit[] = [];
  const skipped: PinOutcome["skipped"] = [];
  const splices: Splice[] = [];
  const expected = new Map<SiteDetail, string>();
  for (const site of analysis.sites) {
    if (!site.ref) continue;
    const repository = repositoryOf(site.ref);
    // The same spelling wins over a Docker Hub equivalent ("redis" vs "library/redis" both given).
    const target =
      targets.find((t) => repositoryOf(parseImageRef(t.repository)!) === repository) ??
      targets.find((t) => sameRepository(t.repository, repository));
    if (!target) continue;
    if (!site.managed || !site.edit) {
      skipped.push({ line: site.line, repository, reason: site.reason ?? "not editable" });
      continue;
    }
    const style = options.style ?? (site.driver === "podman" ? "digest" : "tag+digest");
    const { prefix } = site.edit;
    const candidates = [pinned(site, target, style)];
    // Through `repo:${var.tag}` only the tag literal is editable, so the tag has to stay.
    if (style === "digest") candidates.push(pinned(site, target, "tag+digest"));
    const after = candidates.find((value) => value.startsWith(prefix));
    if (after === undefined) {
      skipped.push({
        line: site.line,
        repository,
        reason: "the new tag would change a part of the value outside the editable literal",
      });
      continue;
    }
    if (after === site.reference) continue;
    expected.set(site, after);
    splices.push({
      start: site.edit.start,
      end: site.edit.end,
      from: site.edit.text,
      to: after.slice(prefix.length),
      quote: site.edit.quote,
    });
    edits.push({
      line: site.line,
      job: site.job,
      group: site.group,
      task: site.task,
      before: site.reference!,
      after,
      via: site.via,
    });
  }
  if (splices.length === 0) return { text, edits, skipped };

  let out = text;
  for (const s of [...splices].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, s.start) + written(s) + out.slice(s.end);
  }
  await verifyPin({
    before: text,
    after: out,
    sites: analysis.sites,
    semantic: analysis.semantic,
    expected,
    splices,
  });
  return { text: out, edits, skipped };
}

function pinned(site: SiteDetail, target: PinTarget, style: PinStyle): string {
  const ref = site.ref!;
  const tag = style === "digest" ? null : (target.tag ?? ref.tag);
  return formatImageRef({ ...ref, tag, digest: target.digest });
}

function validateTarget(target: PinTarget) {
  if (parseImageRef(target.repository) === null) {
    throw new TypeError(`not a repository: ${JSON.stringify(target.repository)}`);
  }
  if (
    !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-f]{32,}$/.test(target.digest) ||
    parseImageRef(`x@${target.digest}`) === null
  ) {
    throw new TypeError(`not a digest: ${JSON.stringify(target.digest)} (expected sha256:<64 hex>)`);
  }
  if (target.tag !== undefined && parseImageRef(`x:${target.tag}`) === null) {
    throw new TypeError(`not a tag: ${JSON.stringify(target.tag)}`);
  }
}
