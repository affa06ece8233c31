import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type JobFileScan, decodeQuoted, encodeQuoted, findImages } from "../../src/jobfile/jobfile.js";
import { hcl2Object } from "../../src/jobfile/parse.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");

/** One line per site: easy to read in a snapshot. */
function summary(scan: JobFileScan): string[] | string {
  if (!scan.ok) return `invalid at line ${scan.line}: ${scan.error}`;
  return scan.images.map(
    (s) =>
      `${s.line} ${s.job}/${s.group}/${s.task} [${s.driver}] ${s.via} ${JSON.stringify(s.reference)} ` +
      (s.managed ? "managed" : `unmanaged: ${s.reason}`),
  );
}

describe("findImages", () => {
  it("finds task, sidecar_task and dynamic task images, and nothing in meta, labels, auth, artifact, heredocs or comments", async () => {
    expect(summary(await findImages(fixture("sites.nomad.hcl")))).toMatchInlineSnapshot(`
      [
        "21 shop/web/connect-proxy-storefront [docker] literal "envoyproxy/envoy:v1.29.0" managed",
        "31 shop/web/frontend [docker] literal "ghcr.io/acme/shop/frontend:1.4.2" managed",
        "68 shop/web/null [docker] literal "localhost:5000/acme/worker:2024.01" managed",
        "79 shop/db/postgres [docker] literal "postgres:16@sha256:1111111111111111111111111111111111111111111111111111111111111111" managed",
        "88 shop/db/migrate [exec] literal "https://example.com/not/a/reference" unmanaged: not a valid image reference",
      ]
    `);
  });

  it("follows variables and locals, and reports what it cannot follow", async () => {
    expect(summary(await findImages(fixture("variables.nomad.hcl")))).toMatchInlineSnapshot(`
      [
        "33 vars/g/api [docker] variable "ghcr.io/acme/api:3f2a9c1" managed",
        "40 vars/g/worker [podman] variable "docker://ghcr.io/acme/worker:1.2.3" managed",
        "47 vars/g/proxy [docker] local "traefik:v3.1" managed",
        "54 vars/g/cache [docker] local "registry.example.com:5000/cache:9" managed",
        "61 vars/g/redis-a [docker] variable "redis:7.2" managed",
        "68 vars/g/redis-b [docker] variable "redis:7.2" managed",
        "75 vars/g/joined [docker] expression null unmanaged: calls join(), which is not evaluated",
        "82 vars/g/runtime [docker] expression null unmanaged: \${NOMAD_META_version} is interpolated by Nomad at runtime",
        "89 vars/g/undeclared [docker] expression null unmanaged: var.no_default has no default in this file and no var file sets it",
        "96 vars/g/escaped [docker] literal "\${REGISTRY}/app:1" unmanaged: not a valid image reference",
        "103 vars/g/unicode-escape [docker] literal "alpine:3.20" managed",
      ]
    `);
  });

  it("follows map keys, indexes and list elements, and reads a one-line heredoc as the reference without its newline", async () => {
    expect(summary(await findImages(fixture("collections.nomad.hcl")))).toMatchInlineSnapshot(`
      [
        "26 collections/g/api [null] variable "ghcr.io/acme/api:5.0" managed",
        "32 collections/g/jobs [null] variable "ghcr.io/acme/jobs:5.0" managed",
        "38 collections/g/alloy [null] local "grafana/alloy:v1.4.0" managed",
        "44 collections/g/cache [null] variable "registry.example.com/cache:2" unmanaged: var.mirrors.cache is also read outside image sites (1 other reference to it or to what holds it in this file); editing it would change them too",
        "50 collections/g/missing-key [null] expression null unmanaged: var.images.nope is not a value written in this file",
        "56 collections/g/heredoc [null] literal "redis:7" managed",
      ]
    `);
  });

  it("reads CRLF, tabs, non-ASCII and a missing final newline", async () => {
    const text = fixture("crlf-tabs.nomad.hcl");
    expect(text).toContain("\r\n");
    expect(text.endsWith("}")).toBe(true);
    expect(summary(await findImages(text))).toMatchInlineSnapshot(`
      [
        "10 crlf/g/t [podman] literal "docker://quay.io/acme/edge:2.0" managed",
      ]
    `);
  });

  it("gives the parsed reference", async () => {
    const scan = await findImages(fixture("crlf-tabs.nomad.hcl"));
    expect(scan.ok && scan.images[0]!.ref).toMatchInlineSnapshot(`
      {
        "digest": null,
        "domain": "quay.io",
        "path": "acme/edge",
        "tag": "2.0",
        "transport": "docker://",
      }
    `);
  });

  it("rejects HCL1 syntax tree-sitter cannot read, with the line", async () => {
    expect(summary(await findImages(fixture("hcl1-syntax.nomad")))).toMatchInlineSnapshot(
      `"invalid at line 9: not valid HCL2: syntax error near ",""`,
    );
  });

  it("rejects what only HashiCorp's parser rejects (one-line blocks holding blocks), locating it itself", async () => {
    expect(summary(await findImages(fixture("hcl1.nomad")))).toMatchInlineSnapshot(
      `"invalid at line 3: not valid HCL2: a one-line block may hold only a single attribute"`,
    );
  });

  it("rejects an attribute set twice (HashiCorp's rule, not tree-sitter's), with the line", async () => {
    const text =
      'job "j" {\n  group "g" {\n    task "t" {\n      config {\n        image = "a:1"\n        image = "b:2"\n      }\n    }\n  }\n}\n';
    expect(summary(await findImages(text))).toMatchInlineSnapshot(
      `"invalid at line 6: not valid HCL2: attribute "image" is set twice"`,
    );
  });

  it("rejects Nomad Pack templates", async () => {
    expect(summary(await findImages(fixture("pack.nomad.tpl")))).toMatchInlineSnapshot(
      `"invalid at line 2: not valid HCL2: syntax error near "[[ template""`,
    );
  });

  it("treats an image string inside a Pack-style placeholder as unmanaged, not as an image", async () => {
    const text =
      'job "j" {\n  group "g" {\n    task "t" {\n      config {\n        image = "[[ .app.image ]]"\n      }\n    }\n  }\n}\n';
    expect(summary(await findImages(text))).toMatchInlineSnapshot(`
      [
        "5 j/g/t [null] literal "[[ .app.image ]]" unmanaged: a Nomad Pack template, not an image reference",
      ]
    `);
  });

  it("treats a variable that a local also uses as shared", async () => {
    const text = [
      'variable "tag" { default = "1.0" }',
      'locals { other = "x-${var.tag}" }',
      'job "j" {',
      '  group "g" {',
      '    task "t" {',
      '      config { image = "app:${var.tag}" }',
      "    }",
      "  }",
      "}",
      "",
    ].join("\n");
    expect(summary(await findImages(text))).toMatchInlineSnapshot(`
      [
        "6 j/g/t [null] variable "app:1.0" unmanaged: var.tag is also read outside image sites (1 other reference to it or to what holds it in this file); editing it would change them too",
      ]
    `);
  });

  it("reports a file with no images as valid and empty", async () => {
    expect(await findImages('job "j" {\n  type = "batch"\n}\n')).toEqual({ ok: true, images: [] });
    expect(await findImages("")).toEqual({ ok: true, images: [] });
  });
});

describe("HCL string escapes", () => {
  it("decodes quoted template literals", () => {
    expect(decodeQuoted('a\\"b\\\\c\\n$${x}%%{y}$$z\\u00e9\\U0001F600')).toBe('a"b\\c\n${x}%{y}$$zé😀');
  });

  it("decodes each escape alone, and returns a literal without one as it is", () => {
    // Each of these alone sends the decoder past its no-escape shortcut.
    expect(decodeQuoted("repo:1@sha256:ab\\n")).toBe("repo:1@sha256:ab\n");
    expect(decodeQuoted("a$${b")).toBe("a${b");
    expect(decodeQuoted("a%%{b")).toBe("a%{b");
    // `$` and `%` without a following `{` (or not doubled) are text.
    for (const plain of ["", "ghcr.io/acme/app:1.2@sha256:00ff", "a$b%c", "${x}", "%{y}", "é😀"]) {
      expect(decodeQuoted(plain)).toBe(plain);
    }
  });

  it("encodes so that HashiCorp's parser and our decoder both read the value back", () => {
    for (const value of [
      "plain",
      'q"uote',
      "back\\slash",
      "${interp}",
      "%{directive}",
      "tab\tnl\n",
      "$$ {",
      "a$${b",
    ]) {
      expect(decodeQuoted(encodeQuoted(value))).toBe(value);
      expect(hcl2Object(`a = "${encodeQuoted(value)}"\n`)).toEqual({ ok: true, value: { a: value } });
    }
    expect(encodeQuoted('${a}"%{b}\\')).toBe('$${a}\\"%%{b}\\\\');
  });
});
