// Just enough GraphQL for the stand-in: a parser for one operation (fields, aliases, arguments with
// variables, literals, lists and objects, inline fragments `... on Type`), and an executor over plain
// objects whose fields are values or functions of their arguments. The schema is whatever the resolvers
// in server.ts return; an unknown field is an error shaped like GitHub's ("undefinedField").

export interface Field {
  alias: string;
  name: string;
  args: Record<string, Value>;
  selections: Selection[];
}
export interface Fragment {
  on: string;
  selections: Selection[];
}
export type Selection = Field | Fragment;
export type Value =
  | { kind: "var"; name: string }
  | { kind: "lit"; value: unknown }
  | { kind: "list"; items: Value[] }
  | { kind: "obj"; fields: Record<string, Value> };

export interface Operation {
  type: "query" | "mutation";
  selections: Selection[];
}

export class GraphqlError extends Error {
  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const TOKEN = /\s*(\.\.\.|[{}():,[\]!$=@]|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*)/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  // Commas are whitespace in GraphQL; comments run to the end of the line.
  const source = text.replace(/#[^\n]*/g, "");
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) {
      if (/^\s*$/.test(source.slice(start))) break;
      throw new GraphqlError(`Parse error near "${source.slice(start, start + 20)}"`);
    }
    if (m[1] !== ",") out.push(m[1]!);
  }
  return out;
}

export function parseOperation(text: string): Operation {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const t = tokens[i++];
    if (t === undefined) throw new GraphqlError("Parse error: unexpected end of document");
    return t;
  };
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new GraphqlError(`Parse error: expected "${t}", got "${got}"`);
  };

  let type: Operation["type"] = "query";
  if (peek() === "query" || peek() === "mutation") {
    type = next() as Operation["type"];
    if (peek() !== "(" && peek() !== "{") next(); // operation name
    if (peek() === "(") {
      // Variable definitions are not checked: the resolvers read what they need.
      let depth = 0;
      do {
        const t = next();
        if (t === "(") depth += 1;
        if (t === ")") depth -= 1;
      } while (depth > 0);
    }
  }

  const value = (): Value => {
    const t = next();
    if (t === "$") return { kind: "var", name: next() };
    if (t === "[") {
      const items: Value[] = [];
      while (peek() !== "]") items.push(value());
      expect("]");
      return { kind: "list", items };
    }
    if (t === "{") {
      const fields: Record<string, Value> = {};
      while (peek() !== "}") {
        const key = next();
        expect(":");
        fields[key] = value();
      }
      expect("}");
      return { kind: "obj", fields };
    }
    if (t.startsWith('"')) return { kind: "lit", value: JSON.parse(t) as string };
    if (t === "true" || t === "false") return { kind: "lit", value: t === "true" };
    if (t === "null") return { kind: "lit", value: null };
    if (/^-?\d/.test(t)) return { kind: "lit", value: Number(t) };
    return { kind: "lit", value: t }; // enum value
  };

  const selectionSet = (): Selection[] => {
    expect("{");
    const out: Selection[] = [];
    while (peek() !== "}") {
      if (peek() === "...") {
        next();
        expect("on");
        const on = next();
        out.push({ on, selections: selectionSet() });
        continue;
      }
      let alias = next();
      let name = alias;
      if (peek() === ":") {
        next();
        name = next();
      }
      const args: Record<string, Value> = {};
      if (peek() === "(") {
        next();
        while (peek() !== ")") {
          const key = next();
          expect(":");
          args[key] = value();
        }
        expect(")");
      }
      out.push({ alias, name, args, selections: peek() === "{" ? selectionSet() : [] });
      alias = "";
    }
    expect("}");
    return out;
  };

  return { type, selections: selectionSet() };
}

function evaluate(v: Value, vars: Record<string, unknown>): unknown {
  switch (v.kind) {
    case "var":
      return vars[v.name] ?? null;
    case "lit":
      return v.value;
    case "list":
      return v.items.map((x) => evaluate(x, vars));
    case "obj":
      return Object.fromEntries(Object.entries(v.fields).map(([k, x]) => [k, evaluate(x, vars)]));
  }
}

/** A resolved object: `__typename` plus fields that are values or functions of the field's arguments. */
export type Node = { __typename: string } & Record<string, unknown>;

export function execute(
  root: Node,
  selections: Selection[],
  vars: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const sel of selections) {
    if ("on" in sel) {
      if (root.__typename === sel.on) Object.assign(out, execute(root, sel.selections, vars));
      continue;
    }
    if (sel.name === "__typename") {
      out[sel.alias] = root.__typename;
      continue;
    }
    if (!(sel.name in root)) {
      throw new GraphqlError(`Field '${sel.name}' doesn't exist on type '${root.__typename}'`, {
        extensions: { code: "undefinedField", typeName: root.__typename, fieldName: sel.name },
      });
    }
    const field = root[sel.name];
    const args = Object.fromEntries(Object.entries(sel.args).map(([k, v]) => [k, evaluate(v, vars)]));
    const value = typeof field === "function" ? (field as (a: typeof args) => unknown)(args) : field;
    out[sel.alias] = shape(value, sel.selections, vars);
  }
  return out;
}

function shape(value: unknown, selections: Selection[], vars: Record<string, unknown>): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => shape(v, selections, vars));
  if (selections.length === 0) return value;
  return execute(value as Node, selections, vars);
}

/** GitHub's CreateCommitOnBranchInput, as the stand-in reads it. */
export interface CommitOnBranchInput {
  branch: { repositoryNameWithOwner?: string; branchName: string; id?: string };
  expectedHeadOid: string;
  message: { headline: string; body?: string | null };
  fileChanges?: {
    additions?: Array<{ path: string; contents: string }> | null;
    deletions?: Array<{ path: string }> | null;
  } | null;
}

/** What createCommitOnBranch needs of the store (a narrow view of store.ts's Store). */
interface CommitStore {
  commits: Map<string, { tree: string }>;
  trees: Map<string, Map<string, { mode: string; sha: string }>>;
  putBlob(content: Buffer): string;
  putTree(entries: Map<string, { mode: string; sha: string }>): string;
}

/**
 * GitHub's createCommitOnBranch over the stand-in's objects: one commit on the branch's head, only while
 * the head is `expectedHeadOid` (else STALE_DATA, and nothing is written); `fileChanges` are deletions and
 * additions by path, an addition's `contents` base64 (a file that exists keeps its mode, a new one is
 * 100644); deleting a path that does not exist is an error; the message is the headline and, when given,
 * a blank line and the body. The branch moves to the new commit.
 */
export function commitOnBranch<C extends { sha: string }>(
  store: CommitStore,
  repo: { refs: Map<string, string> },
  input: CommitOnBranchInput,
  commit: (tree: string, parents: string[], message: string) => C,
): C {
  const ref = `refs/heads/${input.branch.branchName}`;
  const head = repo.refs.get(ref);
  if (!head)
    throw new GraphqlError(`A ref named "${ref}" does not exist.`, {
      type: "NOT_FOUND",
      path: ["createCommitOnBranch"],
    });
  if (head !== input.expectedHeadOid)
    throw new GraphqlError(
      `Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again.`,
      { type: "STALE_DATA", path: ["createCommitOnBranch"] },
    );
  if (!input.message?.headline)
    throw new GraphqlError("A commit message headline is required.", { type: "UNPROCESSABLE" });
  const entries = new Map(store.trees.get(store.commits.get(head)!.tree)!);
  for (const d of input.fileChanges?.deletions ?? []) {
    if (!entries.delete(d.path))
      throw new GraphqlError(
        `A path was requested for deletion which does not exist as of commit oid \`${head}\``,
        { type: "UNPROCESSABLE", path: ["createCommitOnBranch"] },
      );
  }
  for (const a of input.fileChanges?.additions ?? []) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.contents))
      throw new GraphqlError(
        `Variable $input of type CreateCommitOnBranchInput! was provided invalid value for fileChanges.additions.contents (not Base64)`,
        {
          extensions: { code: "argumentLiteralsIncompatible" },
        },
      );
    const mode = entries.get(a.path)?.mode ?? "100644";
    entries.set(a.path, { mode, sha: store.putBlob(Buffer.from(a.contents, "base64")) });
  }
  const message = input.message.body
    ? `${input.message.headline}\n\n${input.message.body}`
    : input.message.headline;
  const made = commit(store.putTree(entries), [head], message);
  repo.refs.set(ref, made.sha);
  return made;
}
