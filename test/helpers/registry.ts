// A real OCI registry for tests: Debian's docker-registry on 127.0.0.1 with a free port and a temp
// storage dir, behind a small recording proxy (method, path, status of every request) that tests can
// also use to inject faults or put a token check in front. Stopped by killing its process group.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface RecordedRequest {
  method: string;
  path: string;
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

export interface Interceptor {
  /** Answer instead of the registry (return undefined to forward). */
  request?(req: ProxyRequest): InjectedResponse | undefined | Promise<InjectedResponse | undefined>;
  /** Rewrite the registry's response headers (e.g. a wrong Docker-Content-Digest). */
  responseHeaders?(req: ProxyRequest, status: number, headers: http.IncomingHttpHeaders): void;
}

export interface TestRegistry {
  /** "127.0.0.1:PORT" of the recording proxy: what clients should use. */
  host: string;
  /** The registry itself, bypassing the proxy (for setup that must not be counted). */
  directHost: string;
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** Installs (or with null removes) a fault or auth interceptor in the proxy. */
  intercept(interceptor: Interceptor | null): void;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  htpasswd?: { user: string; password: string };
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
  // Last resort if a test process ends without stop(): never leave a registry behind.
  for (const child of running) if (child.pid) killGroup(child.pid);
});

function killGroup(pid: number) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
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
    "  secret: test-only-secret",
  ];
  if (options.htpasswd) {
    const file = path.join(dir, "htpasswd");
    const { user, password } = options.htpasswd;
    await writeFile(file, `${user}:${bcryptHash(password, 4)}\n`);
    config.push("auth:", "  htpasswd:", "    realm: test-registry", `    path: ${JSON.stringify(file)}`);
  }
  await writeFile(path.join(dir, "config.yml"), `${config.join("\n")}\n`);

  // A small sh watchdog holds our end of a pipe: if this test process dies without stop() (even by
  // SIGKILL), the pipe closes and the watchdog kills the registry. The shell exits with the registry.
  const child = spawn(
    "/bin/sh",
    [
      "-c",
      'exec 3<&0; /usr/bin/docker-registry serve "$1" </dev/null & pid=$!; ' +
        '(read -r _ <&3; kill "$pid" 2>/dev/null) & wait "$pid"',
      "sh",
      path.join(dir, "config.yml"),
    ],
    { detached: true, stdio: ["pipe", "ignore", "pipe"] },
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
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const proxyHost = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;

  return {
    host: proxyHost,
    directHost,
    requests: () => recorded.slice(),
    clearRequests: () => void recorded.splice(0),
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

// --- bcrypt ($2b$), only for writing htpasswd files: docker-registry accepts nothing else. ---------
// Blowfish's initial P-array and S-boxes are the hex digits of pi's fractional part, computed here
// (Machin's formula in BigInt) rather than pasted as 4 KiB of constants.

let piWords: Uint32Array | null = null;

function blowfishInit(): Uint32Array {
  if (piWords) return piWords;
  const words = 18 + 4 * 256;
  const bits = BigInt(words * 32 + 64);
  const one = 1n << bits;
  const arctanInv = (x: bigint) => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n; term !== 0n; k += 2n) {
      sum += ((k - 1n) / 2n) % 2n === 0n ? term / k : -(term / k);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * arctanInv(5n) - 4n * arctanInv(239n);
  const frac = (pi - 3n * one) >> 64n; // drop guard bits
  const out = new Uint32Array(words);
  for (let i = 0; i < words; i++) {
    out[i] = Number((frac >> BigInt((words - 1 - i) * 32)) & 0xffffffffn);
  }
  piWords = out;
  return out;
}

export function bcryptHash(password: string, cost: number, salt?: Uint8Array): string {
  const init = blowfishInit();
  const P = init.slice(0, 18);
  const S = init.slice(18);
  const saltBytes = salt ?? crypto.getRandomValues(new Uint8Array(16));
  const key = Buffer.concat([Buffer.from(password, "utf8"), Buffer.from([0])]).subarray(0, 72);

  const F = (x: number) =>
    ((((S[x >>> 24]! + S[256 + ((x >>> 16) & 0xff)]!) >>> 0) ^ S[512 + ((x >>> 8) & 0xff)]!) +
      S[768 + (x & 0xff)]!) >>>
    0;
  const lr = new Uint32Array(2);
  const encrypt = () => {
    let l = lr[0]!;
    let r = lr[1]!;
    for (let i = 0; i < 16; i++) {
      l = (l ^ P[i]!) >>> 0;
      r = (r ^ F(l)) >>> 0;
      [l, r] = [r, l];
    }
    [l, r] = [r, l];
    r = (r ^ P[16]!) >>> 0;
    l = (l ^ P[17]!) >>> 0;
    lr[0] = l;
    lr[1] = r;
  };
  const streamWord = (data: Uint8Array, pos: { i: number }) => {
    let word = 0;
    for (let k = 0; k < 4; k++) {
      word = ((word << 8) | data[pos.i]!) >>> 0;
      pos.i = (pos.i + 1) % data.length;
    }
    return word;
  };
  const expand = (data: Uint8Array | null, keyBytes: Uint8Array) => {
    const kp = { i: 0 };
    for (let i = 0; i < 18; i++) P[i] = (P[i]! ^ streamWord(keyBytes, kp)) >>> 0;
    const dp = { i: 0 };
    lr[0] = lr[1] = 0;
    const fill = (target: Uint32Array) => {
      for (let i = 0; i < target.length; i += 2) {
        if (data) {
          lr[0] = (lr[0]! ^ streamWord(data, dp)) >>> 0;
          lr[1] = (lr[1]! ^ streamWord(data, dp)) >>> 0;
        }
        encrypt();
        target[i] = lr[0]!;
        target[i + 1] = lr[1]!;
      }
    };
    fill(P);
    fill(S);
  };
  expand(saltBytes, key);
  for (let round = 0; round < 2 ** cost; round++) {
    expand(null, key);
    expand(null, saltBytes);
  }
  const text = Buffer.from("OrpheanBeholderScryDoubt");
  const c = new Uint32Array(6);
  for (let i = 0; i < 6; i++) c[i] = text.readUInt32BE(i * 4);
  for (let i = 0; i < 6; i += 2) {
    lr[0] = c[i]!;
    lr[1] = c[i + 1]!;
    for (let round = 0; round < 64; round++) encrypt();
    c[i] = lr[0]!;
    c[i + 1] = lr[1]!;
  }
  const hash = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) hash.writeUInt32BE(c[i]!, i * 4);
  return `$2b$${String(cost).padStart(2, "0")}$${bcryptBase64(saltBytes)}${bcryptBase64(hash.subarray(0, 23))}`;
}

function bcryptBase64(bytes: Uint8Array): string {
  const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += alphabet[b0 >> 2]! + alphabet[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)]!;
    if (b1 === undefined) break;
    out += alphabet[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)]!;
    if (b2 === undefined) break;
    out += alphabet[b2 & 63]!;
  }
  return out;
}
