import type { ServerResponse } from "node:http";
import type { DatabaseHandle } from "../db/client.js";
import { JOB_CHANNEL, parseJobNotice } from "../jobs/notify.js";

/**
 * Fans job changes out to Server-Sent-Event clients. Fed by Postgres
 * LISTEN/NOTIFY, so a change made by any process (worker, sweep, another web
 * process) reaches every browser; one LISTEN per web process.
 */
export class JobStream {
  private readonly clients = new Set<ServerResponse>();
  private unlisten: (() => Promise<void>) | null = null;
  private keepAlive: NodeJS.Timeout | null = null;

  async start(handle: DatabaseHandle): Promise<void> {
    this.unlisten = await handle.listen(JOB_CHANNEL, (payload) => {
      const notice = parseJobNotice(payload);
      if (notice) this.broadcast("job", notice);
    });
    // Proxies close quiet connections: a comment line every 15 s keeps them open.
    this.keepAlive = setInterval(() => {
      for (const client of this.clients) client.write(": keep-alive\n\n");
    }, 15_000);
    this.keepAlive.unref();
  }

  /** Takes over a response as an event stream until the client goes away. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n\n");
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
  }

  broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.clients) client.write(frame);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async stop(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const client of this.clients) client.end();
    this.clients.clear();
    await this.unlisten?.();
  }
}
