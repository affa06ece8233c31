import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";

const fixtures = "test/fixtures/nomad";
const f = (name: string) => path.join(fixtures, name);

describe("images", () => {
  it("prints the JSON contract, keeps going after a bad file, and exits 1", async () => {
    const cap = captureIO();
    const code = await main(
      ["images", "--json", f("crlf-tabs.nomad.hcl"), f("hcl1-syntax.nomad"), f("missing.hcl")],
      cap.io,
    );
    expect(code).toBe(1);
    expect(JSON.parse(cap.stdout)).toMatchInlineSnapshot(`
      {
        "files": [
          {
            "file": "test/fixtures/nomad/crlf-tabs.nomad.hcl",
            "images": [
              {
                "group": "g",
                "job": "crlf",
                "line": 10,
                "managed": true,
                "reference": "docker://quay.io/acme/edge:2.0",
                "task": "t",
              },
            ],
            "ok": true,
          },
          {
            "error": "line 9: not valid HCL2: syntax error near ","",
            "file": "test/fixtures/nomad/hcl1-syntax.nomad",
            "images": [],
            "ok": false,
          },
          {
            "error": "no such file",
            "file": "test/fixtures/nomad/missing.hcl",
            "images": [],
            "ok": false,
          },
        ],
      }
    `);
    expect(cap.stderr).toMatchInlineSnapshot(`
      "test/fixtures/nomad/hcl1-syntax.nomad:9: not valid HCL2: syntax error near ","
      test/fixtures/nomad/missing.hcl: no such file
      "
    `);
  });

  it("reports unmanaged images with their reason and reference null when it cannot be known", async () => {
    const cap = captureIO();
    expect(await main(["images", "--json", f("variables.nomad.hcl")], cap.io)).toBe(0);
    const images = JSON.parse(cap.stdout).files[0].images;
    expect(images.find((i: { task: string }) => i.task === "joined")).toMatchInlineSnapshot(`
      {
        "group": "g",
        "hint": "only string literals are edited: write the image as a string, or in a variable, local or map entry that holds one",
        "job": "vars",
        "kind": "expression",
        "line": 75,
        "managed": false,
        "reason": "calls join(), which is not evaluated",
        "reference": null,
        "task": "joined",
      }
    `);
    expect(images.find((i: { task: string }) => i.task === "api")).toMatchInlineSnapshot(`
      {
        "group": "g",
        "job": "vars",
        "line": 33,
        "literal": {
          "file": null,
          "line": 4,
          "offset": 145,
        },
        "managed": true,
        "reference": "ghcr.io/acme/api:3f2a9c1",
        "task": "api",
      }
    `);
  });

  it("prints a table by default", async () => {
    const cap = captureIO();
    expect(await main(["images", f("sites.nomad.hcl"), f("pack.nomad.tpl")], cap.io)).toBe(1);
    expect(cap.stdout).toMatchInlineSnapshot(`
      "FILE:LINE                               JOB   GROUP  TASK                      IMAGE                                                                                PIN
      test/fixtures/nomad/sites.nomad.hcl:21  shop  web    connect-proxy-storefront  envoyproxy/envoy:v1.29.0                                                             yes
      test/fixtures/nomad/sites.nomad.hcl:31  shop  web    frontend                  ghcr.io/acme/shop/frontend:1.4.2                                                     yes
      test/fixtures/nomad/sites.nomad.hcl:68  shop  web    -                         localhost:5000/acme/worker:2024.01                                                   yes
      test/fixtures/nomad/sites.nomad.hcl:79  shop  db     postgres                  postgres:16@sha256:1111111111111111111111111111111111111111111111111111111111111111  yes
      test/fixtures/nomad/sites.nomad.hcl:88  shop  db     migrate                   https://example.com/not/a/reference                                                  no (not-a-reference): not a valid image reference
      test/fixtures/nomad/pack.nomad.tpl      -     -      -                         -                                                                                    error (see below)

      To make them pinnable:
        not-a-reference: write a valid image reference (repository[:tag][@digest])
      "
    `);
    expect(cap.stderr).toMatchInlineSnapshot(`
      "test/fixtures/nomad/pack.nomad.tpl:2: not valid HCL2: syntax error near "[[ template"
      "
    `);
  });

  it("exits 2 on usage errors", async () => {
    for (const argv of [["images"], ["images", "--frobnicate", f("sites.nomad.hcl")]]) {
      const cap = captureIO();
      expect(await main(argv, cap.io)).toBe(2);
      expect(cap.stderr).toContain("usage: nomad-gitops-bot images");
    }
  });

  it("works through the real bin", async () => {
    const run = await execa("node", ["bin/nomad-gitops-bot", "images", "--json", f("crlf-tabs.nomad.hcl")], {
      reject: false,
    });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).files[0].images[0]).toMatchObject({
      line: 10,
      reference: "docker://quay.io/acme/edge:2.0",
      managed: true,
    });
  });
});
