// What a Nomad Pack template is read with: the template, its pack's variables.hcl (found by the pack's
// layout) and the values files that override its defaults.
import type { VarFile } from "../jobfile.js";
import { bytesOver, kib } from "../size.js";

/** Where a template's pack keeps its variables: packs/x/templates/a.nomad.tpl → packs/x/variables.hcl. */
export function packVariablesFile(templatePath: string): string | null {
  const m = /^(.*?)(?:^|\/)templates\/[^/]+\.tpl$/.exec(templatePath);
  if (!m) return null;
  return m[1] === "" ? "variables.hcl" : `${m[1]}/variables.hcl`;
}

/** The pack's name as its directory says it (v1 templates address variables as `.name.var`). */
export function packName(templatePath: string): string | null {
  const m = /(?:^|\/)([^/]+)\/templates\/[^/]+\.tpl$/.exec(templatePath);
  return m ? m[1]! : null;
}

export interface PackInput {
  /** the template's path (for the pack name) and text */
  path: string;
  text: string;
  /** the pack's variables.hcl, and values files that override its defaults (later wins) */
  variables: { path: string; text: string } | null;
  values?: ReadonlyArray<{ path: string; text: string }>;
}

/** A template with the var files a deploy found for it: its pack's variables.hcl, then values files. */
export function packInput(path: string, text: string, varFiles: readonly VarFile[]): PackInput {
  const defaults = packVariablesFile(path);
  const variables = varFiles.find((f) => f.path === defaults) ?? null;
  return { path, text, variables, values: varFiles.filter((f) => f !== variables) };
}

/** The pack's files in the order they are read: variables.hcl first, then the values files. */
export function packSources(input: PackInput): Array<{ path: string; text: string }> {
  return [...(input.variables ? [input.variables] : []), ...(input.values ?? [])];
}

/**
 * A template is read line by line, but what it renders is a job file, bounded as one; its pack's
 * variables.hcl and values files are parsed whole by both parsers (about 130 bytes of tree-sitter
 * memory and 5 µs of HashiCorp's parser per byte), so they are bounded like a config.
 */
export const MAX_PACK_TEMPLATE_BYTES = 8 * 1024 * 1024;
export const MAX_PACK_VALUES_BYTES = 1024 * 1024;

/** Why a template or one of its pack's files is too large to read; null when none is. */
export function packSizeProblem(input: PackInput): string | null {
  const template = bytesOver(input.text, MAX_PACK_TEMPLATE_BYTES);
  if (template !== null) {
    return `the template is ${kib(template)}; a Nomad Pack template may be at most ${kib(MAX_PACK_TEMPLATE_BYTES)} (${MAX_PACK_TEMPLATE_BYTES / 2 ** 20} MiB): split it into several templates`;
  }
  for (const f of packSources(input)) {
    const bytes = bytesOver(f.text, MAX_PACK_VALUES_BYTES);
    if (bytes !== null) {
      return `the pack's ${f.path} is ${kib(bytes)}; a pack's variables or values file may be at most ${kib(MAX_PACK_VALUES_BYTES)}`;
    }
  }
  return null;
}
