// The fixture monorepo (test/core/fixtures/repo) read the way the pipeline reads a repository.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfigText } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import type { Commit } from "../../src/core/release-notes.js";
import type { RegistryPort, RepoPort, Unreadable } from "../../src/core/ports.js";
import type { Relation } from "../../src/core/plan.js";
import { matchesAny } from "../../src/core/glob.js";

export const FIXTURE_ROOT = fileURLToPath(new URL("./fixtures/repo", import.meta.url));

export function fixtureFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(FIXTURE_ROOT, full).split(path.sep).join("/"), readFileSync(full, "utf8"));
    }
  };
  walk(FIXTURE_ROOT);
  return files;
}

export function config(yaml: string): Config {
  const result = parseConfigText(yaml);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

export const OLD_SHA = "1111111111111111111111111111111111111111";
export const NEW_SHA = "2222222222222222222222222222222222222222";
export const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** A repository held in memory: files at one revision plus a linear history (oldest first). */
export class MemoryRepo implements RepoPort {
  readonly calls: string[] = [];
  constructor(
    readonly files: Map<string, string>,
    readonly history: Array<Commit & { files: string[] }> = [],
  ) {}
  async listFiles(globs: string[]) {
    this.calls.push(`list ${globs.join(",")}`);
    return [...this.files.keys()].filter((p) => matchesAny(p, globs)).sort();
  }
  async readFiles(paths: string[]): Promise<Map<string, string | Unreadable>> {
    this.calls.push(`read ${paths.length}`);
    return new Map(paths.flatMap((p) => (this.files.has(p) ? [[p, this.files.get(p)!] as const] : [])));
  }
  async commitsTouching(from: string, to: string, paths: string[]) {
    this.calls.push(`log ${from.slice(0, 7)}..${to.slice(0, 7)} ${paths.join(",")}`);
    const i = this.history.findIndex((c) => c.sha.startsWith(from));
    const j = this.history.findIndex((c) => c.sha === to);
    if (i < 0 || j < 0) throw new Error(`unknown revision ${i < 0 ? from : to}`);
    return this.history
      .slice(i + 1, j + 1)
      .filter((c) => c.files.some((f) => matchesAny(f, paths)))
      .reverse()
      .map(({ files: _files, ...c }) => c);
  }
  async compare(base: string, head: string): Promise<Relation> {
    const i = this.history.findIndex((c) => c.sha.startsWith(base));
    const j = this.history.findIndex((c) => c.sha.startsWith(head));
    if (i < 0 || j < 0) return "unknown";
    return i === j ? "identical" : i < j ? "ahead" : "behind";
  }
}

/** Registry answers from a table: ref → digest; anything else 404s, `down` repositories fail with 503. */
export class TableRegistry implements RegistryPort {
  readonly calls: string[] = [];
  constructor(
    readonly digests: Record<string, string>,
    readonly down: string[] = [],
  ) {}
  private fail(ref: string) {
    if (this.down.some((d) => ref.startsWith(d))) {
      throw Object.assign(new Error(`${ref}: registry answered 503 Service Unavailable`), { status: 503 });
    }
  }
  async digest(ref: string) {
    this.calls.push(`digest ${ref}`);
    this.fail(ref);
    const d = this.digests[ref];
    if (!d) throw Object.assign(new Error(`${ref}: manifest unknown`), { status: 404 });
    return d;
  }
  /** Config digest per manifest digest; an image not listed has a config of its own (a real change). */
  readonly configs: Record<string, string> = {};
  async prove(ref: string, claimed: string) {
    this.calls.push(`prove ${ref}`);
    this.fail(ref);
    const d = this.digests[ref] ?? (ref.includes("@") ? ref.slice(ref.indexOf("@") + 1) : undefined);
    if (d !== claimed) throw new Error(`${ref}: the registry claimed ${claimed}, the bytes hash to ${d}`);
    return this.identityOf(d);
  }
  async identity(ref: string) {
    this.calls.push(`identity ${ref}`);
    return this.identityOf(ref.slice(ref.indexOf("@") + 1));
  }
  private identityOf(d: string) {
    return {
      digest: d,
      kind: "image" as const,
      configs: new Map([["", this.configs[d] ?? `config of ${d}`]]),
    };
  }
  async retag(ref: string, tags: string[]) {
    this.calls.push(`retag ${ref} ${tags.join(",")}`);
    this.fail(ref);
    const d = ref.slice(ref.indexOf("@") + 1);
    const repo = ref.slice(0, ref.indexOf("@"));
    return tags.map((tag) => {
      const exists = this.digests[`${repo}:${tag}`] === d;
      this.digests[`${repo}:${tag}`] = d;
      return { tag, status: exists ? ("exists" as const) : ("created" as const), digest: d };
    });
  }
}
