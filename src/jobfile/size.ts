// The size bounds' arithmetic, shared by job files, var files and Nomad Pack inputs.

/** The size of `text` in UTF-8 bytes when it is over `bound`; null when it is not. */
export function bytesOver(text: string, bound: number): number | null {
  // A UTF-16 unit is at most 3 UTF-8 bytes: only counting bytes of a text long enough to matter.
  if (text.length * 3 <= bound) return null;
  const bytes = Buffer.byteLength(text, "utf8");
  return bytes > bound ? bytes : null;
}

/** A size as the bounds' messages say it. */
export const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;
