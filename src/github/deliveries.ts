// The App's webhook deliveries as GitHub keeps them (App JWT auth): the recent ones, newest first, and a
// redelivery of one. What to redeliver is decided in handlers/recovery.ts.
import { z } from "zod";
import type { Octokit } from "./types.js";

/** One attempt at delivering one event (a redelivery is another attempt with the same `guid`). */
export interface DeliveryAttempt {
  id: number;
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  /** GitHub's answer from the App; 0 when it could not be reached. */
  statusCode: number;
  event: string;
  action: string | null;
}

const Wire = z.object({
  id: z.number(),
  guid: z.string(),
  delivered_at: z.string(),
  redelivery: z.boolean(),
  status_code: z.number().nullable().optional(),
  event: z.string(),
  action: z.string().nullable().optional(),
});

/**
 * Attempts delivered at `since` or later, newest first, at most `max` (GitHub lists newest first, 100 a
 * page, and pages with a cursor in the `Link` header).
 */
export async function recentDeliveries(
  octokit: Octokit,
  bounds: { since: Date; max: number },
): Promise<DeliveryAttempt[]> {
  const out: DeliveryAttempt[] = [];
  let cursor: string | undefined;
  for (;;) {
    // Each page is asked for on the relative route with GitHub's cursor, not by following the Link URL:
    // @octokit/auth-app picks App-JWT auth by matching the path, and an absolute URL is sent with
    // installation auth instead, so every listing longer than one page failed.
    const page = await octokit.rest.apps.listWebhookDeliveries({
      per_page: Math.min(100, bounds.max),
      ...(cursor ? { cursor } : {}),
    });
    for (const raw of page.data as unknown[]) {
      const parsed = Wire.safeParse(raw);
      // An entry GitHub adds fields to still parses; one without the fields used here is skipped.
      if (!parsed.success) continue;
      const d = parsed.data;
      const deliveredAt = new Date(d.delivered_at);
      if (deliveredAt < bounds.since || out.length >= bounds.max) return out;
      out.push({
        id: d.id,
        guid: d.guid,
        deliveredAt,
        redelivery: d.redelivery,
        statusCode: d.status_code ?? 0,
        event: d.event,
        action: d.action ?? null,
      });
    }
    cursor = nextCursor(page.headers.link);
    if (!cursor) return out;
  }
}

/** The `cursor` of the Link header's rel="next" URL, if there is a next page. */
function nextCursor(link: string | undefined): string | undefined {
  const next = link?.split(",").find((part) => /rel="next"/.test(part));
  const url = next?.match(/<([^>]+)>/)?.[1];
  return url ? (new URL(url, "https://api.github.com").searchParams.get("cursor") ?? undefined) : undefined;
}

/** Asks GitHub to deliver that attempt's event again (same GUID, `redelivery: true`). */
export async function redeliver(octokit: Octokit, deliveryId: number): Promise<void> {
  await octokit.rest.apps.redeliverWebhookDelivery({ delivery_id: deliveryId });
}
