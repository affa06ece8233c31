// Each rule HashiCorp's parser adds to tree-sitter's grammar (strict-rules.ts), on a small text that
// breaks it and on texts that look close but are valid. Every verdict is also asked of the referee
// (hcl2-parser), so a case that does not break the rule HashiCorp's way fails here, not in review.
import { describe, expect, it } from "vitest";
import { hcl2Object, parseTree, treeProblem } from "../../src/jobfile/parse.js";
import { Syntax } from "../../src/jobfile/syntax.js";
import { strictRuleProblem } from "../../src/jobfile/strict-rules.js";

async function rules(text: string) {
  const tree = await parseTree(text);
  try {
    // The rules read trees tree-sitter parsed without error.
    expect(treeProblem(tree)).toBeNull();
    return strictRuleProblem(Syntax.of(tree.rootNode, text), text);
  } finally {
    tree.delete();
  }
}

const refused: Array<[string, string, number, string]> = [
  [
    "a value on the next line",
    'job "j" {\n  type =\n    "service"\n}\n',
    2,
    'attribute "type" is split across lines (line 2 ends before "\\"service\\"")',
  ],
  ["an `=` on the next line", "resources {\n  cpu\n  = 500\n}\n", 2, 'attribute "cpu" is split across lines'],
  [
    "an operator ending the line",
    "a = 1 +\n  2\n",
    1,
    'attribute "a" is split across lines (line 1 ends before "2")',
  ],
  ["a conditional broken after `?`", "a = x ?\n  1 : 2\n", 1, 'attribute "a" is split across lines'],
  ["a traversal broken before `.`", "a = x\n  .y\n", 1, 'attribute "a" is split across lines'],
  ["a `#` comment ends the line", "a = 1 + # one\n  2\n", 1, 'attribute "a" is split across lines'],
  [
    "two attributes on one line",
    'id = "x"   type = "y"\n',
    1,
    'attribute "type" is on the line where attribute "id" ends: an attribute must end with a line break',
  ],
  [
    "a block comment is no line break",
    "a = 1 /* one\n */ b = 2\n",
    2,
    'attribute "b" is on the line where attribute "a" ends',
  ],
  [
    "an attribute and the block's `}`",
    "env {\n  A = 1 }\n",
    2,
    '"}" is on the line where attribute "A" ends: an attribute must end with a line break',
  ],
  [
    "two blocks on one line",
    "a {\n} b {\n}\n",
    2,
    'block "b" is on the line where block "a" ends: a block must end with a line break after its "}"',
  ],
  [
    "a block and its parent's `}`",
    'task "t" {\n  env {\n  } }\n',
    3,
    '"}" is on the line where block "env" ends',
  ],
  [
    "a one-line block closed on the next line",
    "env { A = 1\n}\n",
    1,
    'a block whose attribute is on the line of its "{" must close on that line',
  ],
  [
    "a one-line block holding two attributes",
    "env { A = 1 B = 2 }\n",
    1,
    "a one-line block may hold only a single attribute",
  ],
  [
    "a one-line block holding a block",
    "a { b {} }\n",
    1,
    "a one-line block may hold only a single attribute",
  ],
  [
    "a block's `{` on the next line",
    'job "j"\n{\n}\n',
    1,
    'block "job \\"j\\"": its "{" must be on the line of the block type and labels',
  ],
  [
    "a comment between a block's type and label",
    'job # the job\n  "j" {\n}\n',
    1,
    'its "{" must be on the line of the block type and labels',
  ],
  [
    "a raw line break in a quoted string",
    'a = "x\ny"\n',
    1,
    'a quoted string may not span lines: write a line break as "\\n", or use a heredoc (<<EOF)',
  ],
  ["a raw line break after an interpolation", 'a = "${x}\n"\n', 1, "a quoted string may not span lines"],
  [
    "a raw line break in a directive's text",
    'a = "%{ if x }\n%{ endif }"\n',
    1,
    "a quoted string may not span lines",
  ],
  ["a carriage return in a quoted string", 'a = "x\ry"\n', 1, "a quoted string may not span lines"],
  ["a raw line break on a later line", 'a = 1\nb = "x\ny"\n', 2, "a quoted string may not span lines"],
  [
    "a heredoc marker followed by a space",
    "a = <<EOH \nx\nEOH\n",
    1,
    'a heredoc\'s "<<EOH" must be followed directly by a line break',
  ],
  [
    "a heredoc marker followed by `{`",
    "a = <<EOH{\nx\nEOH\n",
    1,
    'a heredoc\'s "<<EOH" must be followed directly by a line break',
  ],
  [
    "object elements without a comma",
    "a = { b = 1 c = 2 }\n",
    1,
    'object elements on one line need a "," between them',
  ],
  [
    "an object's comma on the next line",
    "a = {\n  b = 1\n  , c = 2\n}\n",
    3,
    'a "," in an object must be on the line where its element ends',
  ],
  ["an object element split", "a = f({ b =\n  1 })\n", 1, 'the object element "b" is split across lines'],
  [
    "a carriage return without its line feed",
    "a = 1\r\r\nb = 2\r\n",
    1,
    "a carriage return without a line feed is not valid outside a comment",
  ],
  [
    "a lone carriage return in a heredoc",
    "a = <<EOF\nx\ry\nEOF\n",
    2,
    "a carriage return without a line feed",
  ],
  [
    "a form feed between tokens",
    "a = [1,\f2]\n",
    1,
    'the control character "\\f" is not valid outside a comment',
  ],
  ["an attribute set twice", "a = 1\nb = 2\na = 3\n", 3, 'attribute "a" is set twice'],
];

const valid: Array<[string, string]> = [
  ["newlines inside ( )", "a = (1 +\n  2)\nb = (x ?\n  1 : 2)\n"],
  ["newlines inside [ ] and a call's ( )", "a = [\n  1,\n  2\n]\nb = f(\n  1,\n  2\n)\nc = x[\n  0]\n"],
  ["newlines inside for expressions", "a = [for x in y:\n  x]\nb = {for k, v in m:\n  k => v}\n"],
  ["newlines inside ${ } and %{ }", 'a = "x${\n  y}"\nb = "%{ if\n  x }y%{ endif }"\n'],
  ["heredocs", "a = <<EOF\nline ${x}\nEOF\nb = <<-EOT\n    indented\n    EOT\nc = { d = <<EOF\nx\nEOF\n}\n"],
  ["comments after values", "a = 1 # one\nb = 2 // two\nc = 3 /* three */\nd = 4 /* four\n  */\n"],
  ["a block comment spanning lines inside a value", "a = x /* one\n */ + 1\n"],
  ["one-line blocks", "a {}\nb { }\nc { d = 1 }\ne { f = [\n  1] }\n"],
  ["a comment after a block's `{` and `}`", "a { # opens\n  b = 1\n} # closes\n"],
  ["CRLF line ends", 'job "j" {\r\n  a = 1\r\n  b = <<EOF\r\nx\r\nEOF\r\n}\r\n'],
  ["objects over several lines", "a = {\n  b = 1\n  c = 2,\n  d = 3\n}\ne = { f = 1, g = 2, }\n"],
  ["no line break at the end", 'a = 1\nb { c = "d" }'],
  ["control characters in comments and string text", 'a = 1 # one\rtwo\nb = "x\fy"\nc = <<EOF\nx\vy\nEOF\n'],
  ["an empty file and a comment", "# nothing here\n"],
];

describe("strict rules", () => {
  it.each(refused)("[fault:hcl-newline-rules] refuses %s, with its line", async (_, text, line, reason) => {
    expect(hcl2Object(text).ok).toBe(false);
    const problem = await rules(text);
    expect(problem?.line).toBe(line);
    expect(problem?.reason).toContain(reason);
  });

  it.each(valid)("accepts %s", async (_, text) => {
    expect(hcl2Object(text).ok).toBe(true);
    expect(await rules(text)).toBeNull();
  });

  it("says where the value stops and why, in full", async () => {
    expect((await rules("job {\n  type =\n    1\n}\n"))?.reason).toBe(
      'attribute "type" is split across lines (line 2 ends before "1"): HCL ends it at the end of a line, except inside ( ), [ ], ${ } or a for expression',
    );
  });

  it("reports the first problem in the file", async () => {
    expect(await rules('a = "x\ny"\nb = 1 c = 2\n')).toEqual({
      line: 1,
      reason: 'a quoted string may not span lines: write a line break as "\\n", or use a heredoc (<<EOF)',
    });
    expect(await rules('a = 1 c = 2\nb = "x\ny"\n')).toMatchObject({ line: 1 });
  });
});
