// Which var files a job file is read with. By convention `<name>.vars.hcl` beside `<name>.nomad.hcl`
// (or `<name>.nomad`, `<name>.hcl`) is its own var file; more can be named in the config (`vars`),
// and those come after it, so an explicitly named file wins (as a later -var-file does).

/** The conventional var file of a job file, e.g. deploy/web.nomad.hcl → deploy/web.vars.hcl; null for other names. */
export function conventionalVarFile(jobPath: string): string | null {
  const m = /^(.*?)(?:\.nomad\.hcl|\.nomad|\.hcl)$/.exec(jobPath);
  if (!m || m[1]!.endsWith(".vars") || /(^|\/)$/.test(m[1]!)) return null;
  return `${m[1]}.vars.hcl`;
}

/** A var file is never scanned as a job file itself. */
export function isVarFile(path: string): boolean {
  return path.endsWith(".vars.hcl");
}
