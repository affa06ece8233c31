// Some tests run the real bin, which runs the compiled dist/. `npm it` builds it (prepare), but a
// developer's `npx vitest` after an edit would test stale code: rebuild once, before any test file
// starts, rather than from several test files racing to rewrite dist/ under each other.
import { existsSync, readdirSync, statSync } from "node:fs";
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

export default async function setup(): Promise<void> {
  if (!distIsStale()) return;
  const result = await execa("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, reject: false });
  if (result.exitCode !== 0) {
    throw new Error(`building dist/ for the bin tests failed:\n${result.stdout}${result.stderr}`);
  }
}
