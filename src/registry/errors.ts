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
    super(`${ref}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RegistryError";
    this.ref = ref;
    this.detail = message;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
  }
}

/** The registry's own words from an error body (`{"errors":[{"code","message","detail"}]}`), if any. */
export function registryMessage(body: Uint8Array): { message: string; code?: string } | null {
  if (body.length === 0) return null;
  const text = new TextDecoder().decode(body.subarray(0, 4096));
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = parsed.errors?.[0];
    if (first) {
      const code = typeof first.code === "string" ? first.code : undefined;
      const message = typeof first.message === "string" ? first.message : (code ?? "error");
      return code === undefined ? { message } : { message, code };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const trimmed = text.replace(/\s+/g, " ").trim().slice(0, 200);
  return trimmed ? { message: trimmed } : null;
}
