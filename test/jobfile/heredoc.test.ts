// A one-line heredoc image (`image = <<EOF` / `<<-EOF`) is pinned by splicing its line: the heredoc
// stays a heredoc, byte for byte, and the edit goes through the same verification as every other.
import { describe, expect, it } from "vitest";
import { analyzeJobFile, findImages } from "../../src/jobfile/jobfile.js";
import { PinVerificationError, pinImages } from "../../src/jobfile/pin.js";
import { verifyPin } from "../../src/jobfile/verify.js";

const D1 = `sha256:${"d1".repeat(32)}`;

const job = (image: string) =>
  [
    'job "web" {',
    '  group "g" {',
    '    task "t" {',
    '      driver = "docker"',
    "      config {",
    `        image = ${image}`,
    "      }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");

describe("a heredoc image", () => {
  it("[fault:heredoc-image] `<<EOF`: the line is spliced, the heredoc kept", async () => {
    const before = job("<<EOF\nghcr.io/acme/web:1.0\nEOF\n  # after");
    const out = await pinImages(before, [{ repository: "ghcr.io/acme/web", digest: D1 }]);
    expect(out.text).toMatchInlineSnapshot(`
      "job "web" {
        group "g" {
          task "t" {
            driver = "docker"
            config {
              image = <<EOF
      ghcr.io/acme/web@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
      EOF
        # after
            }
          }
        }
      }
      "
    `);
    // The default style is `digest` (docs/config.md#pin): the tag gives way to the digest, on the same line.
    expect(out.text).toBe(before.replace("web:1.0\n", `web@${D1}\n`));
    expect(out.edits.map((e) => [e.line, e.before, e.after])).toEqual([
      [6, "ghcr.io/acme/web:1.0", `ghcr.io/acme/web@${D1}`],
    ]);
    // Pinned again with the same digest: nothing to do.
    const again = await pinImages(out.text, [{ repository: "ghcr.io/acme/web", digest: D1 }]);
    expect(again.text).toBe(out.text);
    expect(again.edits).toEqual([]);
  });

  it("[fault:heredoc-image] `<<-EOF` with tabs, CRLF and a variable default: only the reference moves, indentation and CR stay", async () => {
    const before = [
      'variable "image" {\r',
      "  default = <<-EOT\r",
      "\t\tghcr.io/acme/web:1.0@sha256:" + "11".repeat(32) + "\r",
      "\tEOT\r",
      "}\r",
      job("var.image").replace(/\n/g, "\r\n"),
    ].join("\n");
    const out = await pinImages(before, [{ repository: "ghcr.io/acme/web", digest: D1, tag: "2.0" }], {
      style: "tag+digest",
    });
    // CR shown as ␍ and tab as ⇥ so the snapshot proves both survive.
    expect(out.text.replaceAll("\r", "␍").replaceAll("\t", "⇥")).toMatchInlineSnapshot(`
      "variable "image" {␍
        default = <<-EOT␍
      ⇥⇥ghcr.io/acme/web:2.0@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1␍
      ⇥EOT␍
      }␍
      job "web" {␍
        group "g" {␍
          task "t" {␍
            driver = "docker"␍
            config {␍
              image = var.image␍
            }␍
          }␍
        }␍
      }␍
      "
    `);
    expect(out.edits.map((e) => [e.line, e.via, e.after])).toEqual([
      [11, "variable", `ghcr.io/acme/web:2.0@${D1}`],
    ]);
    const scan = await findImages(out.text);
    expect(scan.ok && scan.images.map((s) => [s.reference, s.managed])).toEqual([
      [`ghcr.io/acme/web:2.0@${D1}`, true],
    ]);
  });

  it("a heredoc that is not one reference line is reported, never edited", async () => {
    const texts = [
      job("<<EOF\nghcr.io/acme/web:1.0\nghcr.io/acme/web:1.1\nEOF"),
      job("<<EOF\n  ghcr.io/acme/web:1.0\nEOF"),
      job("<<EOF\nghcr.io/acme/web:${var.tag}\nEOF").replace("job", 'variable "tag" { default = "1" }\njob'),
    ];
    const results = [];
    for (const before of texts) {
      const out = await pinImages(before, [{ repository: "ghcr.io/acme/web", digest: D1 }]);
      expect(out.text).toBe(before);
      const scan = await findImages(before);
      results.push(scan.ok && scan.images.map((s) => `${s.managed} ${s.reason}`));
    }
    expect(results).toMatchInlineSnapshot(`
      [
        [
          "false not a valid image reference",
        ],
        [
          "false not a valid image reference",
        ],
        [
          "false a heredoc with interpolations",
        ],
      ]
    `);
  });

  it("verification refuses a heredoc splice that would add a line (the heredoc's value and sites change)", async () => {
    const before = job("<<EOF\nghcr.io/acme/web:1.0\nEOF");
    const analysis = await analyzeJobFile(before);
    if (!analysis.ok) throw new Error("must parse");
    const site = analysis.sites[0]!;
    const to = `ghcr.io/acme/web:1.0@${D1}\nEOF\n`;
    const splice = { start: site.edit!.start, end: site.edit!.end, from: site.edit!.text, to, heredoc: true };
    const after = before.slice(0, splice.start) + to + before.slice(splice.end);
    const error = await verifyPin({
      before,
      after,
      sites: analysis.sites,
      semantic: analysis.semantic,
      expected: new Map([[site, `ghcr.io/acme/web:1.0@${D1}`]]),
      splices: [splice],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PinVerificationError);
    expect((error as Error).message).toMatch(/^pin verification failed: /);
  });
});
