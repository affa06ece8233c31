// Headless screenshots of a local HTML page with Debian's `chromium` (execa, argument arrays). The page
// is read from a file:// URL in a temp dir with its own throwaway profile; chromium is kept off the
// network: no host name resolves, background services (updates, sync, metrics, safe browsing) are off,
// and the page's CSP allows no request at all. Two runs: one measures the page (its inline script writes
// its height into the DOM, which --dump-dom prints), one shoots a window of exactly that size.
import { constants } from "node:fs";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";

/** The browsers tried, in order: Debian's package, Ubuntu's name for it, Google's (GitHub's runners). */
const BROWSERS = ["chromium", "chromium-browser", "google-chrome"];

/** The browser to run: `$CHROMIUM` when set, else the first of BROWSERS on PATH; null when none is. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (env.CHROMIUM) return env.CHROMIUM;
  for (const name of BROWSERS) {
    for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
      const candidate = path.join(dir, name);
      if (
        await access(candidate, constants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return candidate;
    }
  }
  return null;
}

const OFFLINE_FLAGS = [
  "--host-resolver-rules=MAP * ~NOTFOUND",
  "--dns-prefetch-disable",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--disable-breakpad",
  "--metrics-recording-only",
  "--no-pings",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
];

export interface ShotOptions {
  chromium: string;
  /** Layout width in CSS pixels. */
  width: number;
  /** Device pixels per CSS pixel (2: sharp on high-density screens). */
  scale: number;
}

export interface Shot {
  png: Buffer;
  /** In device pixels, read from the PNG's header. */
  width: number;
  height: number;
}

/** Width and height from a PNG's IHDR chunk; an Error when the bytes are not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature) || png.toString("latin1", 12, 16) !== "IHDR")
    throw new Error("not a PNG file");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export async function screenshot(html: string, options: ShotOptions): Promise<Shot> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nomad-gitops-shot-"));
  try {
    const file = path.join(dir, "page.html");
    await writeFile(file, html);
    const url = pathToFileURL(file).href;
    const run = (args: string[]) =>
      execa(
        options.chromium,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--hide-scrollbars",
          "--force-color-profile=srgb",
          "--font-render-hinting=none",
          `--user-data-dir=${path.join(dir, "profile")}`,
          ...OFFLINE_FLAGS,
          ...args,
          url,
        ],
        {
          cwd: dir,
          reject: false,
          timeout: 90_000,
          stdin: "ignore",
          // Nothing of the user's profile or caches is read or written.
          env: { HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir, LANG: "C.UTF-8" },
        },
      );
    const measured = await run(["--dump-dom", `--window-size=${options.width},600`]);
    const height = Number(/data-height="(\d+)"/.exec(String(measured.stdout))?.[1]);
    if (measured.exitCode !== 0 || !Number.isInteger(height) || height <= 0)
      throw new Error(`${options.chromium} --dump-dom did not measure the page (exit ${measured.exitCode})`);
    const out = path.join(dir, "shot.png");
    const shot = await run([
      `--screenshot=${out}`,
      `--window-size=${options.width},${height}`,
      `--force-device-scale-factor=${options.scale}`,
    ]);
    const png = await readFile(out).catch(() => null);
    if (shot.exitCode !== 0 || png === null)
      throw new Error(`${options.chromium} --screenshot wrote no image (exit ${shot.exitCode})`);
    return { png, ...pngSize(png) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
