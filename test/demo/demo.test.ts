// `npm run demo` runs dist/demo/main.js after installing and building; this runs the same program in
// its asserting mode (--check verifies the outcome from the registry, git and the job files).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("npm run demo", () => {
  it("moves only the changed service, retags the others without uploading a blob, and cleans up", async () => {
    const result = await execa(process.execPath, ["dist/demo/main.js", "--check"], {
      cwd: root,
      reject: false,
      env: { ...process.env, REGISTRY_AUTH_FILE: "/nonexistent" },
    });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/0 moved, 3 new, 0 unchanged, 0 not built, 0 older builds, 0 errors/);
    expect(out).toMatch(/1 moved, 0 new, 2 unchanged, 0 not built, 0 older builds, 0 errors/);
    expect(out).toMatch(/^web +3 requests \(GET manifest, HEAD manifest, PUT manifest\): no blob uploaded$/m);
    expect(out).toMatch(
      /^worker +3 requests \(GET manifest, HEAD manifest, PUT manifest\): no blob uploaded$/m,
    );
    expect(out).toMatch(/^api +\d+ requests .*: \d+ blobs? uploaded$/m);
    // The diff touches the api job's variable default and nothing else.
    const diffFiles = [...out.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]);
    expect(diffFiles).toEqual(["nomad/api.nomad.hcl"]);
    expect(
      out.match(/^[-+] {2}default {5}= "127\.0\.0\.1:\d+\/demo\/api@sha256:[0-9a-f]{64}"$/gm),
    ).toHaveLength(2);
    expect(out).toContain("<!-- nomad-gitops:images -->");
    expect(out).toMatch(/- `[0-9a-f]{7}` api: answer in French \(Demo Author\)/);
    expect(out).toContain("ok: 1 moved (api), 2 unchanged (web, worker) with no blob uploaded");
    const work = /^monorepo {2}(\S+)\/repo$/m.exec(out)?.[1];
    expect(work).toBeDefined();
    expect(existsSync(work!)).toBe(false);
  });
});
