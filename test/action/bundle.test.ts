// dist-action/ is committed (a workflow runs it without npm ci), so it must be what the sources build:
// a drift test like the schema's and the config reference's. Fix: `npm run build:action`, then commit.
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

it("the committed Action bundle is what the sources build", async () => {
  const check = await execa(process.execPath, ["scripts/build-action.mjs", "--check"], {
    cwd: root,
    reject: false,
  });
  expect(check.stderr).toBe("");
  expect(check.exitCode).toBe(0);
});
