// The registry client's transport on node:http (connections.ts), against real loopback servers: pools
// per host, redirects as fetch followed them, timeouts, streamed bodies, repeated headers, and servers
// that misbehave on a kept-alive connection. HTTPS with NODE_EXTRA_CA_CERTS runs the compiled bin.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { describeRequestError } from "../../src/registry/auth.js";
import { type HttpRequest, MAX_REDIRECTS, keptAliveHttp } from "../../src/registry/connections.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { buildImage } from "../helpers/oci.js";

const image = buildImage({ layers: [{ "app/main.txt": "transport" }] });
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** A loopback server; it counts the connections it accepted and records each request. */
async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void,
  server: http.Server | https.Server = http.createServer(),
) {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let connections = 0;
  server.on("connection", () => connections++);
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: body.toString() });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  closers.push(async () => {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  });
  return { origin: `http://127.0.0.1:${port}`, port, seen, connections: () => connections };
}

const request = (url: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({
  url,
  method: "GET",
  headers: {},
  signal: AbortSignal.timeout(5_000),
  ...extra,
});
const text = (body: Uint8Array) => new TextDecoder().decode(body);

/** Answers like a registry: HEAD and GET of any manifest, the image's bytes and digest. */
function manifestAnswer(req: http.IncomingMessage, res: http.ServerResponse) {
  res.writeHead(200, {
    "content-type": image.mediaType,
    "content-length": image.manifest.bytes.length,
    "docker-content-digest": image.manifest.digest,
  });
  res.end(req.method === "HEAD" ? undefined : image.manifest.bytes);
}

describe("kept-alive node:http transport", () => {
  it("keeps one pool per host of at most `connections` sockets, HEADs included", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "123", "docker-content-digest": image.manifest.digest });
      res.end();
    });
    const other = await serve((_req, res) => res.end("other"));
    const send = keptAliveHttp(2);
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        send(request(`${server.origin}/v2/a/manifests/${i}`, { method: "HEAD" })),
      ),
      send(request(`${other.origin}/token`)),
    ]);
    expect(answers.slice(0, 20).map((a) => a.headers.get("Docker-Content-Digest"))).toEqual(
      Array(20).fill(image.manifest.digest),
    );
    expect(text(answers[20]!.body)).toBe("other");
    expect(server.seen).toHaveLength(20);
    expect(server.connections()).toBe(2);
    // The sockets stay open for the next requests.
    await send(request(`${server.origin}/v2/a/manifests/again`, { method: "HEAD" }));
    expect(server.connections()).toBe(2);
  });

  it.each([301, 302, 307, 308])(
    "[fault:registry-redirect] follows a %i to another origin without `authorization`, and within the origin with it",
    async (status) => {
      const storage = await serve((req, res) => res.end(`stored ${req.url}`));
      const registry = await serve((req, res) => {
        const to =
          req.url === "/v2/a/blobs/local" ? "/v2/a/blobs/moved" : `${storage.origin}/presigned?sig=1`;
        if (req.url === "/v2/a/blobs/moved") return res.end("moved here");
        res.writeHead(status, { location: to });
        res.end("see elsewhere");
      });
      const send = keptAliveHttp(8);
      const headers = { authorization: "Bearer secret-token", accept: "*/*" };
      const away = await send(request(`${registry.origin}/v2/a/blobs/x`, { headers }));
      expect([away.status, text(away.body)]).toEqual([200, "stored /presigned?sig=1"]);
      expect(storage.seen[0]!.headers.authorization).toBeUndefined();
      expect(storage.seen[0]!.headers.accept).toBe("*/*");

      const near = await send(request(`${registry.origin}/v2/a/blobs/local`, { headers }));
      expect([near.status, text(near.body)]).toEqual([200, "moved here"]);
      expect(registry.seen.at(-1)!.headers.authorization).toBe("Bearer secret-token");
    },
  );

  it("[fault:registry-redirect] turns a PUT into a GET without its body on a 303, and keeps method and body on a 307", async () => {
    const server = await serve((req, res) => {
      if (req.url === "/put-303") res.writeHead(303, { location: "/after" }).end();
      else if (req.url === "/put-307") res.writeHead(307, { location: "/after" }).end();
      else res.end(`${req.method} ${req.url}`);
    });
    const send = keptAliveHttp(8);
    const body = new TextEncoder().encode("manifest bytes");
    const headers = { "content-type": "application/json" };
    const seeOther = await send(request(`${server.origin}/put-303`, { method: "PUT", body, headers }));
    expect(text(seeOther.body)).toBe("GET /after");
    expect(server.seen[1]).toMatchObject({ method: "GET", body: "" });
    expect(server.seen[1]!.headers["content-type"]).toBeUndefined();
    const temporary = await send(request(`${server.origin}/put-307`, { method: "PUT", body, headers }));
    expect(text(temporary.body)).toBe("PUT /after");
    expect(server.seen[3]).toMatchObject({ method: "PUT", body: "manifest bytes" });
  });

  it(`[fault:registry-redirect] stops after ${MAX_REDIRECTS} redirects`, async () => {
    const server = await serve((req, res) =>
      res.writeHead(302, { location: `${req.url!.split("?")[0]}x?signature=presigned` }).end(),
    );
    const error = await keptAliveHttp(8)(request(`${server.origin}/loop`)).catch((e: unknown) => e as Error);
    expect(describeRequestError(error)).toBe(
      `more than ${MAX_REDIRECTS} redirects, the last to ${server.origin}/loop${"x".repeat(11)}`,
    );
    expect(server.seen).toHaveLength(MAX_REDIRECTS + 1);
  });

  it("reads a repeated header as its values joined, names case-insensitively, as fetch did", async () => {
    const server = await serve((_req, res) => {
      res.setHeader("WWW-Authenticate", ['Bearer realm="https://auth.example/token"', 'Basic realm="x"']);
      res.writeHead(401).end();
    });
    const answer = await keptAliveHttp(8)(request(`${server.origin}/v2/`));
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe(
      'Bearer realm="https://auth.example/token", Basic realm="x"',
    );
    expect(answer.headers.has("Www-Authenticate")).toBe(true);
    expect(answer.headers.has("retry-after")).toBe(false);
    expect(answer.headers.get("retry-after")).toBeNull();
  });

  it("[fault:blob-body-stalls] hands a stream request's 200 body back unread, reads any other answer's, and the timeout bounds the reading", async () => {
    const big = Buffer.alloc(1 << 20, 7);
    const server = await serve((req, res) => {
      if (req.url === "/big") return res.end(big);
      if (req.url === "/missing") return res.writeHead(404).end("no such blob");
      // Headers and a first part, then nothing more.
      res.writeHead(200, { "content-length": "100" });
      res.write("first part");
    });
    const send = keptAliveHttp(8);
    const whole = await send(request(`${server.origin}/big`, { stream: true }));
    expect(whole.body).toHaveLength(0);
    expect(Buffer.from(await new Response(whole.stream).arrayBuffer()).equals(big)).toBe(true);
    const missing = await send(request(`${server.origin}/missing`, { stream: true }));
    expect([missing.status, text(missing.body), missing.stream]).toEqual([404, "no such blob", undefined]);

    const stalled = await send(
      request(`${server.origin}/stall`, { stream: true, signal: AbortSignal.timeout(300) }),
    );
    const reading = await new Response(stalled.stream).arrayBuffer().catch((e: unknown) => e);
    expect(describeRequestError(reading)).toBe("timed out");
  });

  it("reads a connection refused and an answer that never comes as fetch's errors did", async () => {
    const server = await serve(() => undefined);
    const send = keptAliveHttp(8);
    const hang = await send(request(`${server.origin}/hang`, { signal: AbortSignal.timeout(200) })).catch(
      (e: unknown) => e,
    );
    expect(describeRequestError(hang)).toBe("timed out");
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await send(request(`http://127.0.0.1:${port}/v2/`)).catch((e: unknown) => e);
    expect(describeRequestError(refused)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});

/** A raw registry on one port that answers each HEAD with `answer` (bytes on the wire, as sent). */
async function rawRegistry(onRequest: (socket: net.Socket, index: number, onSocket: number) => void) {
  let requests = 0;
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let onSocket = 0;
    let pending = "";
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      while (pending.includes("\r\n\r\n")) {
        pending = pending.slice(pending.indexOf("\r\n\r\n") + 4);
        onRequest(socket, requests++, onSocket++);
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => sockets.add(s));
  closers.push(async () => sockets.forEach((s) => s.destroy()));
  const port = (server.address() as net.AddressInfo).port;
  return { host: `127.0.0.1:${port}`, requests: () => requests, connections: () => connections };
}

const headAnswer =
  "HTTP/1.1 200 OK\r\n" +
  `content-type: ${image.mediaType}\r\n` +
  `docker-content-digest: ${image.manifest.digest}\r\n` +
  `content-length: ${image.manifest.bytes.length}\r\n\r\n`;

describe("a misbehaving server on a kept-alive connection", () => {
  const client = (sleeps: number[]) =>
    createRegistryClient({
      env: {},
      concurrencyPerHost: 1,
      baseDelayMs: 100,
      random: () => 0,
      sleep: async (ms) => void sleeps.push(ms),
    });

  it.each(["with the answer", "after the answer"])(
    "[fault:head-body-sent] a body sent after a HEAD's answer (%s) does not become the next answer",
    async (when) => {
      const stray = Buffer.from(image.manifest.bytes);
      const registry = await rawRegistry((socket) => {
        if (when === "with the answer") socket.write(Buffer.concat([Buffer.from(headAnswer), stray]));
        else socket.write(headAnswer, () => setImmediate(() => socket.write(stray)));
      });
      const sleeps: number[] = [];
      const c = client(sleeps);
      const digests = [];
      for (const tag of ["1", "2", "3"]) digests.push(await c.digest(`${registry.host}/acme/app:${tag}`));
      expect(digests).toEqual(Array(3).fill(image.manifest.digest));
      // The stray bytes are never read as an answer: the connection that carried them is dropped (a
      // request already sent on it fails and is retried on a new one: one more request each).
      expect(registry.requests()).toBe(3 + sleeps.length);
      if (when === "with the answer") expect([sleeps, registry.connections()]).toEqual([[], 3]);
    },
  );

  it("[fault:keepalive-closed] a kept-alive connection the server drops under the next request is retried on a new one", async () => {
    const registry = await rawRegistry((socket, _index, onSocket) => {
      if (onSocket === 0) socket.write(headAnswer);
      else socket.destroy();
    });
    const sleeps: number[] = [];
    const c = client(sleeps);
    expect(await c.digest(`${registry.host}/acme/app:1`)).toBe(image.manifest.digest);
    expect(await c.digest(`${registry.host}/acme/app:2`)).toBe(image.manifest.digest);
    expect(sleeps).toEqual([100]);
    expect([registry.requests(), registry.connections()]).toEqual([3, 2]);
    // What the retry saw, on the transport alone: the connection's second request fails as a network error.
    const send = keptAliveHttp(1);
    const url = `http://${registry.host}/v2/acme/app/manifests/3`;
    expect((await send(request(url, { method: "HEAD" }))).status).toBe(200);
    const dropped = await send(request(url, { method: "HEAD" })).catch((e: unknown) => e);
    expect(describeRequestError(dropped)).toBe("socket hang up");
  });
});

describe("HTTPS", () => {
  it("[fault:registry-tls-untrusted] trusts a registry whose CA is in NODE_EXTRA_CA_CERTS, and names the TLS failure without it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-tls-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
    await promisify(execFile)("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=registry.test"],
      ...["-addext", "subjectAltName=IP:0.0.0.0,IP:127.0.0.1", "-keyout", key, "-out", cert],
    ]);
    const server = await serve(
      manifestAnswer,
      https.createServer({ key: await readFile(key), cert: await readFile(cert) }),
    );
    // 0.0.0.0 reaches the loopback server, but is not a loopback name: the client speaks TLS to it.
    const ref = `0.0.0.0:${server.port}/acme/app:1`;
    const bin = path.resolve(import.meta.dirname, "../../bin/nomad-gitops-bot");
    const env: NodeJS.ProcessEnv = { ...process.env, NOMAD_GITOPS_INSECURE_REGISTRIES: "" };
    delete env.NODE_EXTRA_CA_CERTS;
    const run = (extra: NodeJS.ProcessEnv) =>
      execa(bin, ["digest", ref], { env: { ...env, ...extra }, extendEnv: false, reject: false });
    const trusted = await run({ NODE_EXTRA_CA_CERTS: cert });
    expect(trusted).toMatchObject({ exitCode: 0, stdout: image.manifest.digest, stderr: "" });
    expect(server.seen.map((r) => r.method)).toContain("GET");

    const untrusted = await run({});
    expect(untrusted.exitCode).toBe(1);
    // Node 24 appends its own hint (--use-system-ca) to the TLS error's message; Node 20 does not.
    const nodeHint = "; if the root CA is installed locally, try running Node.js with --use-system-ca";
    expect(untrusted.stderr.replace(nodeHint, "")).toBe(
      `error: ${ref}: cannot reach registry 0.0.0.0:${server.port} ` +
        `(GET https://0.0.0.0:${server.port}/v2/acme/app/manifests/1): self-signed certificate, after 4 attempts`,
    );
  });
});
