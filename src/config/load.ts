// Reading `.github/nomad-gitops.yml` from text: YAML syntax errors carry their line, schema errors their
// key path. The App gets the parsed object from context.config() and calls parseConfig directly.
import { parseDocument } from "yaml";
import { type ConfigError, type ParseConfigResult, parseConfig } from "./schema.js";

export const CONFIG_PATH = ".github/nomad-gitops.yml";

export type LoadConfigResult = ParseConfigResult;

export function loadConfigText(text: string): LoadConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map(yamlError) };
  }
  const raw: unknown = doc.toJS();
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    return { ok: false, errors: [{ path: "", message: "the config must be a mapping of keys" }] };
  }
  return parseConfig(raw);
}

function yamlError(error: {
  message: string;
  linePos?: [{ line: number; col: number }, ...unknown[]];
}): ConfigError {
  const pos = error.linePos?.[0];
  // yaml's message repeats the position and may carry a code excerpt after a blank line.
  const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return {
    path: "",
    message: pos
      ? `YAML syntax error at line ${pos.line}, column ${pos.col}: ${message}`
      : `YAML syntax error: ${message}`,
  };
}
