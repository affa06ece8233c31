// A tree-sitter node read at most once. Every property of web-tree-sitter's Node crosses into WASM
// (`type` and `endIndex` on every access, `children` once per Node object, allocating a Node per
// child), and the scanner and the grammar rules ask the same nodes the same questions several times:
// a Syntax asks once and keeps the answer, and is only made for the nodes someone reads.
import type { Language, Node } from "web-tree-sitter";

/** What the HCL readers (hcl.ts) need of a node: web-tree-sitter's Node, or a Syntax. */
export interface TreeNode<N extends TreeNode<N>> {
  readonly type: string;
  readonly text: string;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly startPosition: { readonly row: number };
  readonly children: ReadonlyArray<N | null>;
  readonly namedChildren: ReadonlyArray<N | null>;
}

/** Whether a node type is named, per language: one WASM call per type, not per node. */
const namedTypes = new WeakMap<Language, Map<number, boolean>>();

function isNamedType(language: Language, typeId: number): boolean {
  let known = namedTypes.get(language);
  if (!known) namedTypes.set(language, (known = new Map()));
  let named = known.get(typeId);
  if (named === undefined) known.set(typeId, (named = language.nodeTypeIsNamed(typeId)));
  return named;
}

export class Syntax implements TreeNode<Syntax> {
  private typeId = -1;
  private end = -1;
  private kids: Syntax[] | undefined;
  private named: Syntax[] | undefined;
  private above: Syntax | null | undefined;

  /** `source` is the text the tree was parsed from (positions are JS string indices into it). */
  private constructor(
    readonly node: Node,
    private readonly source: string,
    parent?: Syntax,
  ) {
    this.above = parent;
  }

  static of(node: Node, source: string): Syntax {
    return new Syntax(node, source);
  }

  get startIndex(): number {
    return this.node.startIndex;
  }

  get startPosition(): { readonly row: number; readonly column: number } {
    return this.node.startPosition;
  }

  /** Asked only where a problem is reported. */
  get endPosition(): { readonly row: number; readonly column: number } {
    return this.node.endPosition;
  }

  private get id(): number {
    if (this.typeId < 0) this.typeId = this.node.typeId;
    return this.typeId;
  }

  get type(): string {
    // As web-tree-sitter's Node.type reads it.
    return this.node.tree.language.types[this.id] || "ERROR";
  }

  get isNamed(): boolean {
    return isNamedType(this.node.tree.language, this.id);
  }

  get endIndex(): number {
    if (this.end < 0) this.end = this.node.endIndex;
    return this.end;
  }

  /** Node.text reads the parsed string from startIndex to endIndex: the same slice. */
  get text(): string {
    return this.source.slice(this.startIndex, this.endIndex);
  }

  get children(): readonly Syntax[] {
    this.kids ??= this.node.children.flatMap((c) => (c ? [new Syntax(c, this.source, this)] : []));
    return this.kids;
  }

  /** The named children are the children whose type is named (as in tree-sitter's own). */
  get namedChildren(): readonly Syntax[] {
    this.named ??= this.children.filter((c) => c.isNamed);
    return this.named;
  }

  get firstNamedChild(): Syntax | null {
    return this.namedChildren[0] ?? null;
  }

  get parent(): Syntax | null {
    if (this.above === undefined) {
      const up = this.node.parent;
      this.above = up && new Syntax(up, this.source);
    }
    return this.above;
  }

  equals(other: Syntax): boolean {
    return this.node.equals(other.node);
  }

  /** The descendants of one type, in document order: one WASM call, however large the subtree. */
  descendantsOfType(type: string): Syntax[] {
    return this.node.descendantsOfType(type).flatMap((d) => (d ? [new Syntax(d, this.source)] : []));
  }
}
