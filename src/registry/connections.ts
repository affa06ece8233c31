// The registry client's connections: one pool per registry host, as many connections as the client
// sends requests at once, kept open and reused, HEADs included.

/**
 * Where Node's fetch (undici) keeps its dispatcher, an Agent; the key is undici's documented, versioned
 * one, set up on fetch's first call. Its class makes this client's own Agent: Node does not export it.
 */
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

interface DispatchOptions {
  method?: string;
  reset?: boolean;
}
interface Dispatcher {
  dispatch(options: DispatchOptions, handler: unknown): boolean;
}
type AgentClass = new (options: { connections: number }) => Dispatcher;

/**
 * Node's fetch, through an Agent of at most `connections` connections per registry host (one pool per
 * origin), so a request that finds every connection busy waits for one rather than opening another.
 *
 * undici also closes a connection after every HEAD, in case a server wrongly sends a body with its
 * answer; the bot's lookups are mostly HEADs, so each paid a new TCP (and TLS) handshake. Registries
 * answer a HEAD without a body (the distribution spec: Content-Length only announces the manifest's
 * size), so here a HEAD keeps its connection like any other request.
 */
export function keepAliveFetch(connections: number): typeof fetch {
  let agent: Dispatcher | undefined;
  const dispatcher: Dispatcher = {
    dispatch(options, handler) {
      if (!agent) {
        const global = (globalThis as Record<symbol, Dispatcher | undefined>)[GLOBAL_DISPATCHER];
        if (!global) throw new Error("fetch has no dispatcher to send the request with");
        agent = new (global.constructor as AgentClass)({ connections });
      }
      return agent.dispatch(options.method === "HEAD" ? { ...options, reset: false } : options, handler);
    },
  };
  // `dispatcher` is undici's extension of RequestInit (Node's fetch honours it; the DOM types omit it).
  return (input, init) => fetch(input, { ...init, dispatcher } as RequestInit);
}
