// The registry client's connections, on node:http and node:https: one pool per registry host (and
// token endpoint), as many sockets as the client sends requests at once, kept open and reused, HEADs
// included. Node's fetch did the same through undici, at about 2.5 times the CPU per request (its
// WHATWG streams and spec steps): `plan`'s 500 lookups made it the main thread's largest cost.
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";

/** One request, as the registry client and its token requests send them. */
export interface HttpRequest {
  url: string;
  method: "GET" | "HEAD" | "PUT";
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Bounds the whole exchange: connecting, redirects, the answer and (for `stream`) reading its body. */
  signal: AbortSignal;
  /** A 200 answer's body is handed back unread in `stream`; any other answer's is read into `body`. */
  stream?: boolean;
}

/** An answer's headers by name, case-insensitive; a repeated header reads as its values joined by ", ". */
export interface AnswerHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
}

export interface HttpAnswer {
  status: number;
  headers: AnswerHeaders;
  body: Uint8Array;
  stream?: ReadableStream<Uint8Array>;
}

/** The seam between the registry client and the network: tests and callers may bring their own. */
export type HttpSend = (request: HttpRequest) => Promise<HttpAnswer>;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Registries redirect a blob to storage once; fetch allowed 20, a loop is caught sooner here. */
export const MAX_REDIRECTS = 10;
const EMPTY = new Uint8Array(0);

/**
 * Requests through kept-alive agents of at most `connections` sockets per origin, so a request that
 * finds every socket busy waits for one rather than opening another. Redirects are followed as fetch
 * follows them: 303 turns a PUT into a GET without its body, and a redirect to another origin (a blob
 * sent to storage with a presigned URL) drops `authorization`. Certificates are checked against Node's
 * CAs plus NODE_EXTRA_CA_CERTS, as fetch did; HTTP(S)_PROXY is ignored, as Node 20's fetch ignored it.
 */
export function keptAliveHttp(connections: number): HttpSend {
  // An idle socket closes after 4 s (sooner if the server's Keep-Alive hint says so), as undici's did:
  // the App's one client would otherwise hold its sockets until each server drops them.
  const options = { keepAlive: true, maxSockets: connections, timeout: 4_000 };
  const agents = { "http:": new http.Agent(options), "https:": new https.Agent(options) };
  return async (request) => {
    let url = new URL(request.url);
    let { method, headers, body } = request;
    for (let redirects = 0; ; redirects++) {
      const agent =
        url.protocol === "https:" ? agents["https:"] : url.protocol === "http:" ? agents["http:"] : null;
      if (!agent) throw new Error(`cannot send a request to ${url.protocol} URL ${url.origin}`);
      const answer = await exchange(agent, url, { ...request, method, headers, body });
      const location = REDIRECTS.has(answer.status) ? answer.headers.get("location") : null;
      if (location === null) return answer;
      const next = new URL(location, url);
      // Said without its query: a redirect to storage carries a presigned signature there.
      if (redirects === MAX_REDIRECTS)
        throw new Error(`more than ${MAX_REDIRECTS} redirects, the last to ${next.origin}${next.pathname}`);
      if (next.origin !== url.origin) headers = withoutHeader(headers, "authorization");
      if (answer.status === 303 && method !== "HEAD") {
        method = "GET";
        body = undefined;
        headers = withoutHeader(withoutHeader(headers, "content-type"), "content-length");
      }
      url = next;
    }
  };
}

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => key.toLowerCase() !== name));
}

/** One request and its answer; the abort signal's reason (a TimeoutError) is what a timeout throws. */
function exchange(agent: http.Agent, url: URL, request: HttpRequest): Promise<HttpAnswer> {
  const { signal } = request;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    let answer: http.IncomingMessage | undefined;
    let settled = false;
    const fail = (error: Error) => {
      signal.removeEventListener("abort", abort);
      if (settled) return;
      settled = true;
      reject(error);
    };
    const abort = () => {
      const reason = signal.reason as Error;
      answer?.destroy(reason);
      req.destroy(reason);
      fail(reason);
    };
    const headers = request.body
      ? { ...request.headers, "content-length": String(request.body.byteLength) }
      : request.headers;
    const send = url.protocol === "https:" ? https.request : http.request;
    const req = send(url, { method: request.method, headers, agent }, (res) => {
      answer = res;
      const status = res.statusCode ?? 0;
      const read = { status, headers: answerHeaders(res) };
      if (request.stream && status === 200) {
        // The signal still bounds the reading; it lets go once the body is read or dropped.
        settled = true;
        res.once("close", () => signal.removeEventListener("abort", abort));
        resolve({ ...read, body: EMPTY, stream: webStream(res) });
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("error", fail);
      res.once("close", () => {
        if (!res.complete) fail(new Error("the connection closed before the answer's end"));
      });
      res.once("end", () => {
        signal.removeEventListener("abort", abort);
        if (settled) return;
        settled = true;
        resolve({ ...read, body: joined(chunks) });
      });
    });
    signal.addEventListener("abort", abort, { once: true });
    // Bytes after a whole answer (a body wrongly sent with a HEAD's) fail the connection, not the
    // answer: Node drops the socket, so they never reach the next request's answer.
    req.on("error", (error) => {
      if (!answer?.complete) fail(error);
    });
    req.end(request.body);
  });
}

function answerHeaders(res: http.IncomingMessage): AnswerHeaders {
  const all = res.headersDistinct;
  return {
    get: (name) => all[name.toLowerCase()]?.join(", ") ?? null,
    has: (name) => all[name.toLowerCase()] !== undefined,
  };
}

/** The body in its own buffer (a chunk may be a view of a larger socket buffer). */
function joined(chunks: Buffer[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A web stream read as it is pulled (a blob can be large); cancelling it closes the answer. */
function webStream(res: Readable): ReadableStream<Uint8Array> {
  const chunks = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else
        controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}
