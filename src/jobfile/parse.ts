// Two parsers, two jobs. tree-sitter gives a concrete syntax tree with positions (what we need to find
// and splice string literals); hcl2-parser (HashiCorp's hcl/v2 via hcl2json, compiled to JS) is the
// stricter referee for "is this valid HCL2" and the semantic reading used to verify edits.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Language, Parser, type Node, type Tree } from "web-tree-sitter";
import { lineOfIndex } from "./lines.js";
import { startAnsweringThread, type AnsweringThread } from "../worker-thread.js";
import {
  codeCacheDir,
  RUN_COMMONJS,
  runCommonJsHere,
  saveCodeCache,
  type CodeCacheUse,
  type CommonJsLoad,
} from "../code-cache.js";

const require = createRequire(import.meta.url);

let parserPromise: Promise<Parser> | undefined;

/**
 * The HCL grammar: from node_modules, or beside this module when it is bundled (the GitHub Action's
 * dist-action/ carries a copy and has no node_modules).
 */
function grammarFile(): string {
  try {
    return require.resolve("@tree-sitter-grammars/tree-sitter-hcl/tree-sitter-hcl.wasm");
  } catch {
    return fileURLToPath(new URL("./tree-sitter-hcl.wasm", import.meta.url));
  }
}

/** The shared tree-sitter HCL parser, initialised once on first use. */
export function hclParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const language = await Language.load(grammarFile());
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

/**
 * Parses with tree-sitter. The caller must `tree.delete()` (wasm memory is not garbage collected).
 * Positions: web-tree-sitter feeds the text as UTF-16, so startIndex/endIndex are JS string indices
 * (not UTF-8 byte offsets) and rows count "\n" — both consistent with slicing the JS string.
 */
export async function parseTree(text: string): Promise<Tree> {
  const parser = await hclParser();
  const tree = parser.parse(text);
  if (!tree) throw new Error("tree-sitter returned no tree");
  return tree;
}

/**
 * Parses only `ranges` of `text`, read as one text, with positions in the whole text (tree-sitter's
 * included ranges): a large file is parsed a piece at a time. Every range starts at a line start.
 */
export async function parseRanges(
  text: string,
  ranges: ReadonlyArray<{ start: number; end: number }>,
  starts: readonly number[],
): Promise<Tree> {
  const parser = await hclParser();
  const point = (index: number) => {
    const row = lineOfIndex(starts, index) - 1;
    return { row, column: index - starts[row]! };
  };
  const includedRanges = ranges.map((r) => ({
    startIndex: r.start,
    endIndex: r.end,
    startPosition: point(r.start),
    endPosition: point(r.end),
  }));
  const tree = parser.parse(text, null, { includedRanges });
  if (!tree) throw new Error("tree-sitter returned no tree");
  return tree;
}

export interface SyntaxProblem {
  reason: string;
  /** 1-based line, null when the parser that rejected the file does not say where. */
  line: number | null;
}

/** The first ERROR or MISSING node of a tree, as a reason and a line; null when the tree is clean. */
export function treeProblem(tree: Tree): SyntaxProblem | null {
  const root = tree.rootNode;
  if (!root.hasError) return null;
  const found = firstBadNode(root);
  if (!found) return { reason: "syntax error", line: null };
  // Inside an ERROR node the valid pieces come first; the first stray punctuation token is usually
  // what the parser tripped over (`,` after an HCL1 attribute, `[[` of a template, `;`).
  const stray = found.isError
    ? found.children.find((c) => c && !c.isNamed && c.type !== "{" && c.type !== "}")
    : null;
  const at = stray ?? found;
  const line = at.startPosition.row + 1;
  if (found.isMissing)
    return { reason: `syntax error: incomplete (expected ${JSON.stringify(found.type)})`, line };
  const snippet = (stray ? text(stray, found) : found.text).split(/\r?\n/, 1)[0]!.slice(0, 40);
  return { reason: `syntax error near ${JSON.stringify(snippet)}`, line };
}

/** The stray token and what follows it on the rest of the ERROR node, for a recognisable snippet. */
function text(stray: Node, error: Node): string {
  return error.text.slice(stray.startIndex - error.startIndex);
}

// The innermost first problem: tree-sitter often wraps a long stretch (from the top of the file) in an
// outer ERROR node, while the offending token sits in a nested ERROR or MISSING node.
function firstBadNode(node: Node): Node | null {
  if (node.isMissing) return node;
  for (const child of node.children) {
    if (child && (child.hasError || child.isMissing)) {
      const found = firstBadNode(child);
      if (found) return found;
    }
  }
  return node.isError ? node : null;
}

type Hcl2Parser = {
  parseToObject(text: string): [unknown, unknown];
  parseToString(text: string): [string, unknown];
};
let hcl2: Hcl2Parser | undefined;
type Hcl2Result = { ok: true; value: unknown } | { ok: false };

/**
 * HashiCorp's reading of the file (hcl2json's JSON shape), or null when it rejects the file.
 * Its errors reach JS as empty objects (a GopherJS artefact), so there is no message or line to report.
 * In this thread: the first call loads the parser (see prepareReferee for loading it ahead, elsewhere).
 */
export function hcl2Object(text: string): Hcl2Result {
  const cached = recent.get(text);
  if (cached) return cached;
  hcl2 ??= loadHcl2Here();
  const [value, error] = hcl2.parseToObject(text);
  afterFirstParse?.();
  afterFirstParse = undefined;
  return remember(text, error !== null && error !== undefined ? { ok: false } : { ok: true, value });
}

/** Saves the bytecode of this thread's load once its first reading has compiled what reading needs. */
let afterFirstParse: (() => void) | undefined;

/** HashiCorp's parser in this thread, compiled with its V8 code cache when it is a file (code-cache.ts). */
function loadHcl2Here(): Hcl2Parser {
  const load = parserLoad();
  // The Action's bundle carries the parser inside it: no file to cache, a plain (bundled) require.
  if (!load) return require("hcl2-parser") as Hcl2Parser;
  const ran = runCommonJsHere(load);
  afterFirstParse = () => settleCodeCache(ran.cacheFile, ran.read, ran.codeCache());
  return ran.exports as Hcl2Parser;
}

/** hcl2-parser's bundle as a file to compile, or undefined when it is not a file. */
function parserLoad(parserModule?: string): CommonJsLoad | undefined {
  try {
    const filename = parserModule ?? require.resolve("hcl2-parser");
    return { name: "hcl2-parser", filename, dir: codeCacheDir() };
  } catch {
    return undefined;
  }
}

let codeCacheUse: CodeCacheUse | undefined;

function settleCodeCache(file: string | undefined, read: CodeCacheUse["read"], data: Uint8Array | undefined) {
  codeCacheUse = { read, written: file !== undefined && data !== undefined && saveCodeCache(file, data) };
}

/**
 * How loading HashiCorp's parser used its V8 code cache (in this thread or the referee's), once its
 * first reading is done; undefined before that, or when the parser was not loaded from a file.
 */
export function refereeCodeCache(): CodeCacheUse | undefined {
  return codeCacheUse;
}

/**
 * The same reading as hcl2Object, from the referee's thread when prepareReferee started one: its 4 MB
 * bundle is compiled there while this thread scans files and waits on the registry, instead of after.
 */
export async function refereeRead(text: string): Promise<Hcl2Result> {
  const cached = recent.get(text);
  if (cached) return cached;
  // A proof never waits on an idle-priority thread that has not loaded yet (prepareRefereeEarly).
  if (referee) prepareReferee();
  return (await threadRead(text)) ?? hcl2Object(text);
}

/** The referee thread's reading, shared by callers asking for the same text; undefined: no thread. */
function threadRead(text: string): Promise<Hcl2Result | undefined> {
  if (!referee) return Promise.resolve(undefined);
  let pending = inflight.get(text);
  if (!pending) {
    const asked: Promise<Hcl2Result | undefined> = referee.ask(text).then((answer) => {
      // A replaced thread's answer (undefined) must not drop what its successor was asked.
      if (inflight.get(text) === asked) inflight.delete(text);
      if (answer === undefined) return undefined;
      const cache = answer.codeCache;
      if (cache) settleCodeCache(cache.file, cache.read, cache.data);
      if (!answer.ok) return remember(text, { ok: false });
      const value: unknown = JSON.parse(answer.json);
      return remember(text, { ok: true, value });
    });
    inflight.set(text, asked);
    pending = asked;
  }
  return pending;
}

const inflight = new Map<string, Promise<Hcl2Result | undefined>>();

function remember(text: string, result: Hcl2Result): Hcl2Result {
  // The usual flow reads a text twice (findImages, then pinImages; verify, then a caller's re-scan),
  // and a deploy reads the files it is about to edit ahead (prefetchReferee): remembering recent
  // verdicts spares the slowest step. Bounded in count and in text held. Results are only read.
  if (recent.delete(text)) recentChars -= text.length;
  recent.set(text, result);
  recentChars += text.length;
  while (recent.size > RECENT || (recentChars > RECENT_CHARS && recent.size > 1)) {
    const oldest = recent.keys().next().value!;
    recent.delete(oldest);
    recentChars -= oldest.length;
  }
  return result;
}

/** As many as a deploy reads ahead (PREFETCH_MAX) plus the few a flow reads twice. */
const RECENT = 40;
const RECENT_CHARS = 4 * 1024 * 1024;
const recent = new Map<string, Hcl2Result>();
let recentChars = 0;

/** Forgets remembered hcl2-parser results (benchmarks measure cold parses). */
export function clearParseCache(): void {
  recent.clear();
  recentChars = 0;
}

/** Texts a caller may read ahead at once: the cache must still hold them when they are used. */
export const PREFETCH_MAX = 32;

/**
 * Asks the referee's thread to read a text that is about to be edited (a deploy, when a service's new
 * digest is known), so the reading of "before" is remembered by the time the edit is proven instead of
 * being made then. Starts the thread if none runs. Never reads in this thread: without one it does
 * nothing, and the edit's proof reads the text as it would have.
 */
export function prefetchReferee(text: string): void {
  if (recent.has(text) || text.length > RECENT_CHARS / PREFETCH_MAX) return;
  // An idle thread started early (prepareRefereeEarly) reads ahead as it is: nothing waits on this.
  if (!referee) prepareReferee();
  if (referee) void threadRead(text);
}

// --- The referee's thread ---------------------------------------------------------------------------

/**
 * The thread's code: compiles the parser given (code-cache.ts), answers each text; the first answer
 * also carries what the load read from the code cache and the bytecode to save, if any.
 */
const REFEREE_CODE = `
${RUN_COMMONJS}
// At idle priority (prepareRefereeEarly): this thread's own nice value, by its Linux thread id.
if (workerData.idle) {
  try {
    const tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop());
    require("node:os").setPriority(tid, 19);
  } catch {
    // Not Linux, or not allowed: normal priority, as a thread started when needed.
  }
}
const parser = runCommonJs(workerData.parser, require);
let first = true;
function answer(text) {
  const [json, error] = parser.exports.parseToString(text);
  const reading = error !== null && error !== undefined ? { ok: false } : { ok: true, json };
  if (!first) return reading;
  first = false;
  return { ...reading, codeCache: { read: parser.read, file: parser.cacheFile, data: parser.codeCache() } };
}
`;

type Answer = ({ ok: true; json: string } | { ok: false }) & {
  codeCache?: { read: CodeCacheUse["read"]; file: string | undefined; data: Uint8Array | undefined };
};

type Referee = AnsweringThread<string, Answer>;

let referee: Referee | undefined;

/** Where HashiCorp's parser runs in this process, if it was needed at all ("this thread" once loaded here). */
export function refereeState(): "not loaded" | "thread" | "idle thread" | "this thread" {
  return hcl2 ? "this thread" : referee ? (refereeIdle ? "idle thread" : "thread") : "not loaded";
}

/** Whether the referee's thread has loaded the parser (false: it failed, was replaced, or none runs). */
export function refereeLoaded(): Promise<boolean> {
  return referee?.loaded ?? Promise.resolve(false);
}

/**
 * Starts loading HashiCorp's parser in a worker thread, for a run that may edit files (plan, apply):
 * by the time an edit is to be proven, it is ready. The thread never keeps the process alive. Where no
 * thread can be started, or the parser cannot be found as a file (the Action's bundle), the parser is
 * loaded in this thread on first use, as without this call; so it is when the thread fails or dies.
 * It replaces an idle-priority thread (prepareRefereeEarly) that has not loaded yet.
 * `parserModule`: another file to load as the parser (tests: one that fails to load).
 */
export function prepareReferee(parserModule?: string): void {
  if (hcl2) return;
  // A thread at normal priority, or an idle one that has loaded, answers. An idle one still loading may
  // be starved: one at normal priority takes over, and what the idle one was asked to read ahead is
  // asked again of it when needed.
  if (referee && (!refereeIdle || referee.ready())) return;
  referee?.stop();
  inflight.clear();
  startReferee(parserModule, false);
}

/**
 * Starts the referee's thread at idle priority, at the start of a CLI plan or apply, before anything
 * is known to have moved (Linux only; elsewhere nothing happens and prepareReferee starts it when
 * needed). Why: its load (~0.5 s of CPU: compiling, GopherJS's init) then runs while this thread loads
 * modules and waits on git, instead of during the registry lookups, when both CPUs of a small runner
 * are busy; at idle priority it yields to this thread, so a plan where nothing moved pays its CPU
 * but little wall time where a CPU is spare. Measured (plan, 500 services, local registry, 2 CPUs):
 * 10 moved 1.38-1.44x the bare-HEAD floor against 1.60-1.94x when started on the first moved digest,
 * and 1.47-1.53x at normal priority. Why not at idle priority for good: an unprivileged thread cannot lower its nice value
 * again, and on a busy runner an idle thread may barely run. So no proof waits on its load: if it has
 * not loaded when the first edit is to be proven, a thread at normal priority replaces it (as without
 * this call); one that has loaded answers the few small readings a plan asks.
 */
export function prepareRefereeEarly(parserModule?: string): void {
  if (referee || hcl2 || process.platform !== "linux") return;
  startReferee(parserModule, true);
}

let refereeIdle = false;

function startReferee(parserModule: string | undefined, idle: boolean): void {
  const parser = parserLoad(parserModule);
  if (!parser) return;
  referee = startAnsweringThread<string, Answer>(REFEREE_CODE, { parser, idle });
  refereeIdle = idle && referee !== undefined;
}
