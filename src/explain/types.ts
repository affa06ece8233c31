// The data of "why did this digest move?": what differs between two images, from the config down to the
// files of the changed layers. Plain JSON (the CLI's --json prints it as is).
import type { TarEntry } from "../image/tar.js";

export type { TarEntry };

/** One difference in the image config ("env FOO", "label org.x", "created", "cmd", …). */
export interface ConfigChange {
  field: string;
  /** JSON-ish text of the old value; absent when the field is new. */
  before?: string;
  /** Absent when the field was removed. */
  after?: string;
}

export type EntryAspect = "type" | "content" | "link" | "mode" | "owner" | "mtime";

/** One path that differs between two layers. */
export interface FileChange {
  path: string;
  kind: "added" | "removed" | "changed";
  /** For "changed": what differs; a single metadata aspect is an "mtime-only"/"mode-only"/"owner-only" change. */
  aspects?: EntryAspect[];
  /** Short "before → after" texts per aspect shown to people (mtime as ISO time, mode in octal, …). */
  details?: Partial<Record<EntryAspect, string>>;
  /**
   * The path is an OCI/AUFS whiteout: `.wh.NAME` deletes `target` from the layers below, `.wh..wh..opq`
   * hides everything the layers below have under the directory `target`.
   */
  whiteout?: { kind: "file" | "opaque"; target: string };
}

export interface LayerRef {
  /** 0-based position in the image. */
  index: number;
  diffId: string;
  /** Compressed blob digest and size from the manifest. */
  digest: string;
  size: number;
}

/** A pair of layers at the same place among the ones that differ; one side is null for an added/removed layer. */
export interface LayerChange {
  a: LayerRef | null;
  b: LayerRef | null;
  /** Differing entries, when the layers were read. */
  files?: FileChange[];
  /** Entries the two layers share unchanged (when read). */
  unchangedFiles?: number;
  /** Why the files were not listed (too large, unsupported compression, registry error). */
  note?: string;
  /** When read: whether the paths both layers hold come in the same order in both archives. */
  entryOrder?: "same" | "differs";
}

export interface PlatformExplanation {
  /** "linux/amd64", or "" when both refs are single-platform images. */
  platform: string;
  manifests: { a: string; b: string };
  configs: { a: string; b: string };
  config: ConfigChange[];
  layers: {
    /** Layers (by diff_id) present in both images. */
    shared: number;
    changes: LayerChange[];
    /** Shared layers (same diff_id) whose compressed blobs differ: same files, compressed differently. */
    recompressed?: Array<{ diffId: string; a: string; b: string }>;
    /**
     * Shared layers stacked in another order (0-based positions in A and B); empty when the shared
     * layers keep their relative order. Order matters: upper layers win where paths overlap.
     */
    reordered?: Array<{ diffId: string; a: number; b: number }>;
  };
  /** What differs at each level, with its likely cause and a remedy (most specific first). */
  findings?: Finding[];
}

/** One level at which two images differ, what it likely means, and how to avoid it. */
export interface Finding {
  level:
    | "manifest"
    | "layer-encoding"
    | "layer-order"
    | "config-timestamps"
    | "config"
    | "file-order"
    | "tar-encoding"
    | "whiteouts"
    | "file-metadata"
    | "content";
  what: string;
  cause: string;
  remedy: string;
}

export interface Explanation {
  a: { ref: string; digest: string };
  b: { ref: string; digest: string };
  /** Same manifest digest: nothing moved. */
  identical: boolean;
  /** Platforms only one side has. */
  platformsOnlyInA: string[];
  platformsOnlyInB: string[];
  platforms: PlatformExplanation[];
  /** Remarks that apply to the whole comparison (e.g. the byte budget ran out). */
  notes: string[];
}

/** What a deploy attaches to a service flagged as non-reproducible: the explanation, or why there is none. */
export type ExplainOutcome = { ok: true; explanation: Explanation } | { ok: false; error: string };
