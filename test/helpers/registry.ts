// The registry for tests: src/demo/sandbox's throwaway docker-registry, plus htpasswd users (bcrypt is
// only needed here, to write the file docker-registry reads).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type LocalRegistry, startLocalRegistry } from "../../src/demo/sandbox/registry.js";

export {
  type InjectedReset,
  type InjectedResponse,
  type Interceptor,
  type ProxyRequest,
  type RecordedRequest,
  freePort,
} from "../../src/demo/sandbox/registry.js";
export type TestRegistry = LocalRegistry;

export interface StartRegistryOptions {
  htpasswd?: { user: string; password: string };
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  if (!options.htpasswd) return startLocalRegistry();
  const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-htpasswd-"));
  const file = path.join(dir, "htpasswd");
  const { user, password } = options.htpasswd;
  await writeFile(file, `${user}:${bcryptHash(password, 4)}\n`);
  const registry = await startLocalRegistry({ htpasswdFile: file }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...registry,
    async stop() {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
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
