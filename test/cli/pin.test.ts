import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";

const D1 = `sha256:${"d1".repeat(32)}`;
const D2 = `sha256:${"e2".repeat(32)}`;
let dir: string;

/** A private copy of a fixture: pin writes in place. */
function copy(name: string): string {
  const to = path.join(dir, name);
  copyFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), to);
  return to;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "pin-test-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("pin", () => {
  it("--dry-run prints a unified diff and writes nothing", async () => {
    const file = copy("crlf-tabs.nomad.hcl");
    const before = readFileSync(file);
    const cap = captureIO();
    expect(await main(["pin", "--dry-run", "--set", `quay.io/acme/edge=${D1}`, file], cap.io)).toBe(0);
    expect(readFileSync(file)).toEqual(before);
    // CR shown as ␍ so the snapshot proves CRLF survives (and formatters cannot normalize it away).
    expect(cap.stdout.replaceAll(file, "FILE").replaceAll("\r", "␍")).toMatchInlineSnapshot(`
      "Index: FILE
      ===================================================================
      --- FILE
      +++ FILE
      @@ -7,7 +7,7 @@
       		task "t" {␍
       			driver = "podman"␍
       			config {␍
      -				image = "docker://quay.io/acme/edge:2.0"	# trailing comment ü␍
      +				image = "docker://quay.io/acme/edge@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"	# trailing comment ü␍
       			}␍
       		}␍
       	}␍
      "
    `);
    expect(cap.stderr.replaceAll(file, "FILE")).toMatchInlineSnapshot(`
      "FILE:10: docker://quay.io/acme/edge:2.0 -> docker://quay.io/acme/edge@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1 (dry run)
      "
    `);
  });

  it("rewrites in place atomically, keeping the file mode and every other byte", async () => {
    const file = copy("crlf-tabs.nomad.hcl");
    chmodSync(file, 0o640);
    const before = readFileSync(file, "utf8");
    const cap = captureIO();
    expect(
      await main(["pin", "--style", "tag+digest", "--set", `docker://quay.io/acme/edge=${D1}`, file], cap.io),
    ).toBe(0);
    // `pin --style` writes the style it is asked for, on a podman task too (the config's pins give podman
    // the digest-only form; test/jobfile/pin.test.ts).
    expect(readFileSync(file, "utf8")).toBe(before.replace(':2.0"', `:2.0@${D1}"`));
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(["crlf-tabs.nomad.hcl"]);
  });

  it("[fault:heredoc-image] pins a one-line heredoc image inside the heredoc, keeping its form", async () => {
    const file = path.join(dir, "web.nomad.hcl");
    const before = [
      'job "web" {',
      '  group "g" {',
      '    task "t" {',
      '      driver = "docker"',
      "      config {",
      "        image = <<-EOT",
      "          ghcr.io/acme/web:1.0",
      "        EOT",
      "      }",
      "    }",
      "  }",
      "}",
      "",
    ].join("\n");
    writeFileSync(file, before);
    const cap = captureIO();
    expect(
      await main(["pin", "--style", "tag+digest", "--set", `ghcr.io/acme/web=${D1}`, file], cap.io),
    ).toBe(0);
    expect(readFileSync(file, "utf8")).toMatchInlineSnapshot(`
      "job "web" {
        group "g" {
          task "t" {
            driver = "docker"
            config {
              image = <<-EOT
                ghcr.io/acme/web:1.0@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
              EOT
            }
          }
        }
      }
      "
    `);
    expect(readFileSync(file, "utf8")).toBe(before.replace("web:1.0\n", `web:1.0@${D1}\n`));
    expect(cap.stderr.replaceAll(file, "FILE")).toBe(
      `FILE:6: ghcr.io/acme/web:1.0 -> ghcr.io/acme/web:1.0@${D1}\n`,
    );
  });

  it("sets a tag given as REPO:TAG, and still does the rest when a site cannot be pinned (exit 1)", async () => {
    // The cache image's map entry is also read by a local: it cannot be pinned.
    const vars = copy("collections.nomad.hcl");
    const sites = copy("sites.nomad.hcl");
    const cap = captureIO();
    const code = await main(
      [
        "pin",
        "--style",
        "tag+digest",
        "--set",
        `registry.example.com/cache=${D1}`,
        "--set",
        `ghcr.io/acme/shop/frontend:2.0.0=${D2}`,
        "--set",
        `nowhere/none=${D2}`,
        vars,
        sites,
      ],
      cap.io,
    );
    expect(code).toBe(1);
    expect(readFileSync(sites, "utf8")).toContain(`image = "ghcr.io/acme/shop/frontend:2.0.0@${D2}"`);
    expect(readFileSync(vars, "utf8")).toBe(
      readFileSync(new URL("../fixtures/nomad/collections.nomad.hcl", import.meta.url), "utf8"),
    );
    expect(cap.stderr.replaceAll(dir, "DIR")).toMatchInlineSnapshot(`
      "DIR/collections.nomad.hcl:44: registry.example.com/cache not pinned: var.mirrors.cache is also read outside image sites (1 other reference to it or to what holds it in this file); editing it would change them too
      DIR/sites.nomad.hcl:31: ghcr.io/acme/shop/frontend:1.4.2 -> ghcr.io/acme/shop/frontend:2.0.0@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2
      warning: no image of nowhere/none in the given files
      "
    `);
  });

  it("leaves invalid and non-UTF-8 files alone, naming file and line, and pins the others", async () => {
    const bad = copy("hcl1-syntax.nomad");
    const good = copy("crlf-tabs.nomad.hcl");
    const latin1 = path.join(dir, "latin1.nomad.hcl");
    const latin1Bytes = Buffer.concat([Buffer.from('job "caf'), Buffer.from([0xe9]), Buffer.from('" {}\n')]);
    writeFileSync(latin1, latin1Bytes);
    const badBefore = readFileSync(bad);
    const cap = captureIO();
    expect(
      await main(
        ["pin", "--set", `redis=${D1}`, "--set", `quay.io/acme/edge=${D2}`, bad, latin1, good],
        cap.io,
      ),
    ).toBe(1);
    expect(readFileSync(bad)).toEqual(badBefore);
    expect(readFileSync(latin1)).toEqual(latin1Bytes);
    expect(readFileSync(good, "utf8")).toContain(`quay.io/acme/edge@${D2}`);
    expect(cap.stderr.replaceAll(dir, "DIR")).toMatchInlineSnapshot(`
      "DIR/hcl1-syntax.nomad:9: not valid HCL2: syntax error near ","; file left unchanged
      DIR/latin1.nomad.hcl: not valid UTF-8; not read as a job file
      DIR/crlf-tabs.nomad.hcl:10: docker://quay.io/acme/edge:2.0 -> docker://quay.io/acme/edge@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2
      warning: no image of redis in the given files
      "
    `);
  });

  it.each([
    [["pin", "x.hcl"], /at least one --set/],
    [["pin", "--set", "redis=sha256:abc", "x.hcl"], /sha256:<64 lowercase hex>/],
    [["pin", "--set", "redis", "x.hcl"], /expected REPO=DIGEST/],
    [["pin", "--set", `https://x/y=${D1}`, "x.hcl"], /is not a repository/],
    [["pin", "--style", "tag", "--set", `redis=${D1}`, "x.hcl"], /--style must be/],
    [["pin", "--set", `redis=${D1}`], /no job files/],
  ])("exits 2 on usage errors: %j", async (argv, message) => {
    const cap = captureIO();
    expect(await main(argv, cap.io)).toBe(2);
    expect(cap.stderr).toMatch(message);
  });

  it("works through the real bin", async () => {
    const file = copy("sites.nomad.hcl");
    const run = await execa("node", ["bin/nomad-gitops-bot", "pin", "--set", `postgres=${D1}`, file], {
      reject: false,
    });
    expect(run.exitCode).toBe(0);
    // The default style: digest only, the tag dropped (docs/config.md, `pin`).
    expect(readFileSync(file, "utf8")).toContain(`image = "postgres@${D1}"`);
  });
});
