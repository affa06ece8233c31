// Syntax reads a tree-sitter tree as web-tree-sitter's Node does, asking each node once; the scan and
// the grammar rules read through it, so any difference would change what `images` and `plan` report.
import { readFileSync, readdirSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Node, type Tree } from "web-tree-sitter";
import { parseTree } from "../../src/jobfile/parse.js";
import { Syntax } from "../../src/jobfile/syntax.js";
import { findImages } from "../../src/jobfile/jobfile.js";

const fixtures = new URL("../fixtures/nomad/", import.meta.url);
const hclFixtures = readdirSync(fixtures, { recursive: true, encoding: "utf8" }).filter((f) =>
  /\.(hcl|nomad)$/.test(f),
);

// What the fixtures may not hold: comments inside blocks and expressions, unicode (positions are UTF-16
// indices), CRLF, heredocs, nested collections, a file that ends without a newline.
const edges = [
  'job "j" /* a */ {\r\n  # c\r\n  group "ü→g" { task "t" { driver = "docker" } }\r\n}',
  'locals {\n  m = { a = [1, "x${var.y}"], "b" = { c = <<-EOT\n    v\n    EOT\n  } }\n}\nvariable "y" { default = "😀" }',
  'job "j" { group "g" { task "t" { config { image = "a:1" } } } }',
];

type Seen = { type: string; text: string; start: number; end: number; row: number; column: number };

const fromNode = (n: Node): Seen => ({
  type: n.type,
  text: n.text,
  start: n.startIndex,
  end: n.endIndex,
  row: n.startPosition.row,
  column: n.startPosition.column,
});
const fromSyntax = (s: Syntax): Seen => ({
  type: s.type,
  text: s.text,
  start: s.startIndex,
  end: s.endIndex,
  row: s.startPosition.row,
  column: s.startPosition.column,
});

/** Walks both readings side by side; returns how many nodes were compared. */
function compare(node: Node, syntax: Syntax): number {
  expect(fromSyntax(syntax)).toEqual(fromNode(node));
  expect(syntax.isNamed).toBe(node.isNamed);
  const named = node.namedChildren.filter((c) => c !== null);
  expect(syntax.namedChildren.map(fromSyntax)).toEqual(named.map(fromNode));
  expect(syntax.firstNamedChild?.startIndex).toBe(node.firstNamedChild?.startIndex);
  const kids = node.children.filter((c) => c !== null);
  expect(syntax.children).toHaveLength(kids.length);
  let count = 1;
  kids.forEach((c, i) => {
    expect(syntax.children[i]!.parent).toBe(syntax);
    count += compare(c, syntax.children[i]!);
  });
  return count;
}

const trees: Tree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.delete();
  vi.restoreAllMocks();
});

describe("Syntax", () => {
  it("reads every node of the fixtures and the edge cases as Node does", async () => {
    const texts = [...hclFixtures.map((f) => readFileSync(new URL(f, fixtures), "utf8")), ...edges];
    let nodes = 0;
    for (const text of texts) {
      const tree = await parseTree(text);
      trees.push(tree);
      nodes += compare(tree.rootNode, Syntax.of(tree.rootNode, text));
    }
    expect(texts.length).toBeGreaterThan(15);
    expect(nodes).toBeGreaterThan(2500);
  });

  it("finds the descendants of a type as Node does, and reads their parents up to the root", async () => {
    const text = edges[1]!;
    const tree = await parseTree(text);
    trees.push(tree);
    const syntax = Syntax.of(tree.rootNode, text);
    const found = syntax.descendantsOfType("variable_expr");
    const expected = tree.rootNode.descendantsOfType("variable_expr").filter((n) => n !== null);
    expect(found.map(fromSyntax)).toEqual(expected.map(fromNode));
    // object keys written as bare names are variable expressions too
    expect(found.map((f) => f.text)).toEqual(["a", "var", "c"]);
    const root = found[1]!;
    expect(root.parent!.type).toBe("expression");
    expect(root.parent!.firstNamedChild!.equals(root)).toBe(true);
    expect(root.parent!.firstNamedChild!.equals(found[0]!)).toBe(false);
    let top = root;
    while (top.parent) top = top.parent;
    expect(top.type).toBe("config_file");
    expect(syntax.parent).toBeNull();
  });

  it("asks WASM for a node's type, children and end once, however often they are read", async () => {
    const text = edges[2]!;
    const tree = await parseTree(text);
    trees.push(tree);
    const syntax = Syntax.of(tree.rootNode, text);
    const typeId = vi.spyOn(Node.prototype, "typeId", "get");
    const children = vi.spyOn(Node.prototype, "children", "get");
    const endIndex = vi.spyOn(Node.prototype, "endIndex", "get");
    for (let i = 0; i < 3; i++) {
      expect(syntax.type).toBe("config_file");
      expect(syntax.children.map((c) => c.type)).toEqual(["body"]);
      expect(syntax.namedChildren).toHaveLength(1);
      expect(syntax.text).toBe(text);
    }
    // the root's and its one child's type, the root's children, the root's end
    expect([typeId.mock.calls.length, children.mock.calls.length, endIndex.mock.calls.length]).toEqual([
      2, 1, 1,
    ]);
  });
});

describe("the grammar rules, read through Syntax", () => {
  it("find a one-line block or an attribute set twice however deep, and nothing in an expression", async () => {
    const deep = (inner: string) => `job "j" {\n  group "g" {\n    task "t" {\n${inner}\n    }\n  }\n}\n`;
    const line = async (text: string) => {
      const scan = await findImages(text, { strict: false, hclRules: true });
      return scan.ok ? "ok" : `${scan.line}: ${scan.error}`;
    };
    // hashicorp/hcl refuses it too ("Invalid single-argument block definition").
    expect(await line(deep('      config { image = "a:1"\n driver = "x" }'))).toBe(
      "4: not valid HCL2: a one-line block may hold only a single attribute",
    );
    expect(await line(deep('      config { image = "a:1" }\n      env { A = "1" B = "2" }'))).toBe(
      "5: not valid HCL2: a one-line block may hold only a single attribute",
    );
    expect(await line(deep('      config {\n        image = "a:1"\n        image = "b:1"\n      }'))).toBe(
      '6: not valid HCL2: attribute "image" is set twice',
    );
    // The keys of an object value are not attributes of a body: the rules leave expressions alone.
    expect(
      await line(deep('      config {\n        image = "a:1"\n        labels = { a = 1, a = 2 }\n      }')),
    ).toBe("ok");
  });
});
