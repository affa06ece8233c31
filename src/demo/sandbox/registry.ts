// A throwaway OCI registry (demo, benchmarks, tests): Debian's docker-registry on 127.0.0.1 with a free
// port and a temp storage dir, behind a small recording proxy (method, path, status of every request)
// that can also inject faults or put a token check in front. Stopped by killing its process group.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface RecordedRequest {
  method: string;
  path: string;
  /** 0 when the proxy reset the connection instead of answering. */
  status: number;
}

export interface ProxyRequest {
  method: string;
  /** Path with query, as received. */
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface InjectedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Drop the connection without an answer (what a crashing load balancer does). */
export interface InjectedReset {
  reset: true;
}

export interface Interceptor {
  /**
   * Answer instead of the registry, or reset the connection (return undefined to forward; a promise
   * that settles late makes a slow answer).
   */
  request?(
    req: ProxyRequest,
  ): InjectedResponse | InjectedReset | undefined | Promise<InjectedResponse | InjectedReset | undefined>;
  /** Rewrite the registry's response headers (e.g. a wrong Docker-Content-Digest). */
  responseHeaders?(req: ProxyRequest, status: number, headers: http.IncomingHttpHeaders): void;
}

export interface LocalRegistry {
  /** "127.0.0.1:PORT" of the recording proxy: what clients should use. */
  host: string;
  /** The registry itself, bypassing the proxy (for setup that must not be counted). */
  directHost: string;
  requests(): RecordedRequest[];
  /** TCP connections clients opened to the proxy since the start or the last clearRequests. */
  connections(): number;
  clearRequests(): void;
  /** Installs (or with null removes) a fault or auth interceptor in the proxy. */
  intercept(interceptor: Interceptor | null): void;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** An htpasswd file (bcrypt entries): the registry then requires Basic auth. */
  htpasswdFile?: string;
  /** The docker-registry binary (default: Debian's /usr/bin/docker-registry). */
  binary?: string;
  /** Token auth: the registry accepts JWTs from `issuer` signed by the key certified in the bundle. */
  tokenAuth?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  // Last resort if the process ends without stop(): never leave a registry behind.
  for (const child of running) if (child.pid) killGroup(child.pid);
});

function killGroup(pid: number) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export async function startLocalRegistry(options: StartRegistryOptions = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-registry-"));
  const port = await freePort();
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(path.join(dir, "data"))}`,
    "  delete:",
    "    enabled: true",
    // As in Debian's shipped config: blob descriptors cached in memory.
    "  cache:",
    "    blobdescriptor: inmemory",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
  ];
  if (options.htpasswdFile) {
    config.push(
      "auth:",
      "  htpasswd:",
      "    realm: local-registry",
      `    path: ${JSON.stringify(options.htpasswdFile)}`,
    );
  }
  if (options.tokenAuth) {
    const { realm, service, issuer, rootCertBundle } = options.tokenAuth;
    config.push(
      "auth:",
      "  token:",
      `    realm: ${JSON.stringify(realm)}`,
      `    service: ${JSON.stringify(service)}`,
      `    issuer: ${JSON.stringify(issuer)}`,
      `    rootcertbundle: ${JSON.stringify(rootCertBundle)}`,
    );
  }
  await writeFile(path.join(dir, "config.yml"), `${config.join("\n")}\n`);

  // A small sh watchdog holds our end of a pipe: if this process dies without stop() (even by
  // SIGKILL), the pipe closes and the watchdog kills the registry. The shell exits with the registry.
  const child = spawn(
    "/bin/sh",
    [
      "-c",
      'exec 3<&0; "$2" serve "$1" </dev/null & pid=$!; ' +
        '(read -r _ <&3; kill "$pid" 2>/dev/null) & wait "$pid"',
      "sh",
      path.join(dir, "config.yml"),
      options.binary ?? "/usr/bin/docker-registry",
    ],
    {
      detached: true,
      stdio: ["pipe", "ignore", "pipe"],
      // docker-registry reads REGISTRY_* variables as config overrides: REGISTRY_AUTH_FILE, which
      // podman and skopeo users often set, would otherwise break the config.
      env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("REGISTRY_"))),
    },
  );
  running.add(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
    running.delete(child);
  });

  const stopChild = async () => {
    const gone = exited ? Promise.resolve() : new Promise((resolve) => child.once("exit", resolve));
    // The whole group: shell, registry and watchdog.
    if (child.pid) killGroup(child.pid);
    child.stdin?.destroy();
    await gone;
  };

  const directHost = `127.0.0.1:${port}`;
  try {
    await waitForRegistry(directHost, () => (exited ? `docker-registry exited: ${stderr}` : null));
  } catch (error) {
    await stopChild();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const recorded: RecordedRequest[] = [];
  let interceptor: Interceptor | null = null;
  const proxy = http.createServer((req, res) => {
    const info: ProxyRequest = { method: req.method!, path: req.url!, headers: req.headers };
    const record = (status: number) => recorded.push({ method: info.method, path: info.path, status });
    void (async () => {
      const injected = await interceptor?.request?.(info);
      if (injected && "reset" in injected) {
        record(0);
        req.socket.destroy();
        return;
      }
      if (injected) {
        record(injected.status);
        req.resume();
        res.writeHead(injected.status, injected.headers ?? {});
        res.end(injected.body ?? "");
        return;
      }
      const upstream = http.request(
        { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          record(up.statusCode!);
          const headers = { ...up.headers };
          interceptor?.responseHeaders?.(info, up.statusCode!, headers);
          // Locations point at the registry itself; clients must stay on the proxy.
          if (typeof headers.location === "string") {
            headers.location = headers.location.replace(`//${directHost}`, `//${proxyHost}`);
          }
          res.writeHead(up.statusCode!, headers);
          up.pipe(res);
        },
      );
      upstream.on("error", (error) => {
        record(502);
        res.writeHead(502).end(String(error));
      });
      req.pipe(upstream);
    })().catch((error: unknown) => {
      record(500);
      res.writeHead(500).end(String(error));
    });
  });
  let connections = 0;
  proxy.on("connection", () => void connections++);
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const proxyHost = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;

  return {
    host: proxyHost,
    directHost,
    requests: () => recorded.slice(),
    connections: () => connections,
    clearRequests: () => {
      recorded.splice(0);
      connections = 0;
    },
    intercept: (next) => void (interceptor = next),
    async stop() {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForRegistry(host: string, failed: () => string | null): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${host}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
