import { z } from "zod";
import { parseJson } from "../image/manifest.js";
import { redact } from "../secrets/redact.js";

/** The distribution spec's error body; fields of the wrong type are treated as absent. */
const errorBodySchema = z.object({
  errors: z.array(
    z.object({
      code: z.string().optional().catch(undefined),
      message: z.string().optional().catch(undefined),
    }),
  ),
});

/** A registry operation failed for one image; the message names the image and quotes the registry. */
export class RegistryError extends Error {
  readonly ref: string;
  readonly status?: number;
  /** The registry's error code (e.g. MANIFEST_UNKNOWN) when it sent one. */
  readonly code?: string;
  /** The message without the leading "ref: ". */
  readonly detail: string;

  constructor(
    ref: string,
    message: string,
    details: { status?: number; code?: string; cause?: unknown } = {},
  ) {
    // Registries and proxies echo request headers in error bodies: nothing leaves here unredacted.
    const detail = redact(message);
    super(`${ref}: ${detail}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RegistryError";
    this.ref = ref;
    this.detail = detail;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
  }
}

/** The registry's own words from an error body (`{"errors":[{"code","message","detail"}]}`), if any. */
export function registryMessage(body: Uint8Array): { message: string; code?: string } | null {
  if (body.length === 0) return null;
  const text = new TextDecoder().decode(body.subarray(0, 4096));
  const parsed = parseJson(text, errorBodySchema);
  const first = parsed.ok ? parsed.value.errors[0] : undefined;
  if (first) {
    const message = first.message ?? first.code ?? "error";
    return first.code === undefined ? { message } : { message, code: first.code };
  }
  const trimmed = text.replace(/\s+/g, " ").trim().slice(0, 200);
  return trimmed ? { message: trimmed } : null;
}

/** A child manifest an index lists for a platform, which the registry does not have. */
export interface MissingChild {
  /** The index's digest. */
  index: string;
  /** "linux/arm64" */
  platform: string;
  /** The child manifest's digest. */
  digest: string;
}

/**
 * An index whose tag (or digest) is there but one of whose platform manifests is gone: nobody can pull
 * it on that platform. Not a 404 of the reference itself, so never "not built" or "no longer there".
 */
export class MissingChildError extends RegistryError {
  constructor(
    ref: string,
    readonly missing: MissingChild,
    repository: string,
  ) {
    super(
      ref,
      `index ${missing.index} lists ${missing.digest} for ${missing.platform}, but ${repository} has no ` +
        `such manifest (HTTP 404): it cannot be pulled on ${missing.platform}`,
    );
    this.name = "MissingChildError";
  }
}
