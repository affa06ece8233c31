// Some tests run the real bin, which runs the compiled dist/ (its bundle, dist/cli-bundle/). `npm it` builds it (prepare), but a
// developer's `npx vitest` after an edit would test stale code: rebuild once, before any test file
// starts, rather than from several test files racing to rewrite dist/ under each other.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const root = fileURLToPath(new URL("..", import.meta.url));

function distIsStale(): boolean {
  // The bin runs the bundle (scripts/build-cli.mjs), which also carries package.json's version.
  const built = [path.join(root, "dist/cli/main.js"), path.join(root, "dist/cli-bundle/main.js")];
  if (!built.every((f) => existsSync(f))) return true;
  const since = Math.min(...built.map((f) => statSync(f).mtimeMs));
  if (statSync(path.join(root, "package.json")).mtimeMs > since) return true;
  const src = path.join(root, "src");
  return readdirSync(src, { recursive: true, encoding: "utf8" }).some(
    (f) => f.endsWith(".ts") && statSync(path.join(src, f)).mtimeMs > since,
  );
}

export default async function setup(): Promise<() => void> {
  // The V8 code cache (src/code-cache.ts) of every test process and of the bins they run goes to one
  // temporary directory, never the developer's ~/.cache; test files inherit the environment.
  const cache = mkdtempSync(path.join(os.tmpdir(), "ngb-test-cache-"));
  process.env.NOMAD_GITOPS_BOT_CACHE_DIR = cache;
  const teardown = () => rmSync(cache, { recursive: true, force: true });
  if (!distIsStale()) return teardown;
  const result = await execa("npm", ["run", "--silent", "build"], { cwd: root, reject: false });
  if (result.exitCode !== 0) {
    teardown();
    throw new Error(`building dist/ for the bin tests failed:\n${result.stdout}${result.stderr}`);
  }
  return teardown;
}
