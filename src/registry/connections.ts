// The registry client's connections: kept open and reused across requests, HEADs included.

/**
 * Where Node's fetch (undici) keeps its dispatcher, the Agent that holds one connection pool per
 * origin. The key is undici's documented, versioned one; fetch sets it up on its first call.
 */
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

interface DispatchOptions {
  method?: string;
  reset?: boolean;
}
interface Dispatcher {
  dispatch(options: DispatchOptions, handler: unknown): boolean;
}

/**
 * undici closes a connection after every HEAD, in case a server wrongly sends a body with its answer;
 * the bot's lookups are mostly HEADs, so each paid a new TCP (and TLS) handshake. Registries answer a
 * HEAD without a body (the distribution spec: Content-Length only announces the manifest's size), so
 * through this dispatcher a HEAD keeps its connection like any other request. Everything else is
 * fetch's own Agent: one pool per registry host, which the transport's per-host limit keeps to its
 * concurrency.
 */
const keepHeadConnections: Dispatcher = {
  dispatch(options, handler) {
    const agent = (globalThis as Record<symbol, Dispatcher | undefined>)[GLOBAL_DISPATCHER];
    if (!agent) throw new Error("fetch has no dispatcher to send the request with");
    return agent.dispatch(options.method === "HEAD" ? { ...options, reset: false } : options, handler);
  },
};

/** Node's fetch, with HEAD requests keeping their connections open for the next request. */
export const keepAliveFetch: typeof fetch = (input, init) =>
  // `dispatcher` is undici's extension of RequestInit (Node's fetch honours it; the DOM types omit it).
  fetch(input, { ...init, dispatcher: keepHeadConnections } as RequestInit);
