// Some tests run the real bin, which runs the compiled dist/. `npm it` builds it (prepare), but a
// developer's `npx vitest` after an edit would test stale code: rebuild once, before any test file
// starts, rather than from several test files racing to rewrite dist/ under each other.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const root = fileURLToPath(new URL("..", import.meta.url));

function distIsStale(): boolean {
  const built = path.join(root, "dist/cli/main.js");
  if (!existsSync(built)) return true;
  const since = statSync(built).mtimeMs;
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
  const result = await execa("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, reject: false });
  if (result.exitCode !== 0) {
    teardown();
    throw new Error(`building dist/ for the bin tests failed:\n${result.stdout}${result.stderr}`);
  }
  return teardown;
}
