// A throwaway Debian `redis-server` on 127.0.0.1 for the replica tests: no persistence, its own port.
import { type ResultPromise, execa } from "execa";
import { freePort } from "./registry.js";

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const child: ResultPromise = execa(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { reject: false, stdin: "ignore", buffer: false },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ping = await execa("redis-cli", ["-p", String(port), "ping"], { reject: false });
    if (ping.stdout === "PONG") break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child;
    },
  };
}
