// The CLI's progress lines are written in batches: the same bytes, in the same order, in few writes.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { progressPrinter } from "../../src/cli/deploy.js";
import type { ProgressEvent } from "../../src/core/ports.js";
import { captureIO } from "../helpers/io.js";

// The batch's timer is the only clock here; fake timers let the test say when it fires.
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const events = (n: number): ProgressEvent[] => [
  { kind: "scan", files: n, services: n },
  ...Array.from({ length: n }, (_, i): ProgressEvent[] => [
    { kind: "service", service: `svc-${i}`, step: "resolve", done: false },
    { kind: "service", service: `svc-${i}`, step: "resolve", done: true, detail: `sha256:${i}` },
  ]).flat(),
];

/** An IO that records each write separately. */
function recording(isTTY: boolean) {
  const cap = captureIO({ isTTY });
  const writes: string[] = [];
  return { io: { ...cap.io, err: (text: string) => void writes.push(text) }, writes };
}

describe("progress lines", () => {
  it("in CI logs: one write per batch, every line whole and in order", () => {
    const { io, writes } = recording(false);
    const printer = progressPrinter(io);
    for (const e of events(500)) printer.print(e);
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(writes).toHaveLength(1);
    const lines = writes[0]!.split("\n");
    expect(lines[0]).toBe("scanned 500 job files, 500 services");
    expect(lines.slice(1, -1)).toEqual(
      Array.from({ length: 500 }, (_, i) => `[${i + 1}/500] svc-${i}: resolve sha256:${i}`),
    );
    expect(lines.at(-1)).toBe("");
    // Nothing pending: a flush writes nothing.
    printer.flush();
    expect(writes).toHaveLength(1);
  });

  it("on a terminal: the same redraws as one write per event would give, flushed when the deploy ends", () => {
    const { io, writes } = recording(true);
    const printer = progressPrinter(io);
    const all = events(3);
    for (const e of all.slice(0, 3)) printer.print(e);
    vi.advanceTimersByTime(100);
    for (const e of all.slice(3)) printer.print(e);
    // The deploy's end flushes at once what is pending; its timer then has nothing left to write.
    printer.flush();
    vi.advanceTimersByTime(1000);
    expect(writes).toEqual([
      "scanned 3 job files, 3 services\n\r\x1b[K[0/3] svc-0: resolve…\r\x1b[K[1/3] svc-0: resolve sha256:0",
      "\r\x1b[K[1/3] svc-1: resolve…\r\x1b[K[2/3] svc-1: resolve sha256:1\r\x1b[K[2/3] svc-2: resolve…\r\x1b[K[3/3] svc-2: resolve sha256:2",
    ]);
  });
});
