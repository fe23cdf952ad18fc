/**
 * `GET /metrics`: the Prometheus text exposition, for a scraper. Read on
 * every scrape; nothing is cached, since counters must not go back.
 */
import type { ServerResponse } from "node:http";

/** What the health server needs of the metrics: the text and its content type (with the exposition format's version). */
export interface MetricsSource {
  scrape(): Promise<string>;
  readonly contentType: string;
}

/** Answers a scrape with every metric of `source`. */
export async function serveMetrics(source: MetricsSource, res: ServerResponse): Promise<void> {
  const body = await source.scrape();
  res.writeHead(200, { "content-type": source.contentType, "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
