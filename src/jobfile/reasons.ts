// Why an image site is not pinned, as a small closed set of cases, each with what would make it
// pinnable. The reason text says what was found in this file; the hint says what a user can change.

export type UnmanagedKind =
  | "runtime"
  | "expression"
  | "undeclared"
  | "no-default"
  | "shared"
  | "not-a-reference"
  | "split"
  | "pack-template";

export interface Unmanaged {
  kind: UnmanagedKind;
  reason: string;
}

const HINTS: Record<UnmanagedKind, string> = {
  runtime:
    "Nomad fills it in when the task starts, so no file holds it: write the image (or a variable with a default) in the job file",
  expression:
    "only string literals are edited: write the image as a string, or in a variable, local or map entry that holds one",
  undeclared: "declare the variable in the job file (with a default), or define the local",
  "no-default":
    "give the variable a default, or name the var file that sets it in the config (`vars`), or put it in a var file beside the job (<job>.vars.hcl)",
  shared: "give each service its own variable or local, or use the value only in image sites of one service",
  "not-a-reference": "write a valid image reference (repository[:tag][@digest])",
  split: "keep the tag (and digest) of the image in one string literal",
  "pack-template":
    "pin the default in the pack's variables.hcl: scan the pack directory (templates/ beside variables.hcl), or name a values file in the config (`vars`)",
};

/** What would make a site of this kind pinnable. */
export function hintFor(kind: UnmanagedKind): string {
  return HINTS[kind];
}

export const unmanaged = (kind: UnmanagedKind, reason: string): Unmanaged => ({ kind, reason });
