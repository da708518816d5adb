import type { ServerResponse } from "node:http";
import type { DatabaseHandle } from "../db/client.js";
import { JOB_CHANNEL, type JobNotice, parseJobNotice } from "../jobs/notify.js";

/**
 * Fans job changes out to Server-Sent-Event clients. Fed by Postgres
 * LISTEN/NOTIFY, so a change made by any process (worker, sweep, another web
 * process) reaches every browser; one LISTEN per web process.
 */
export class JobStream {
  /** Each client, with which job changes it may see (a person: their installations'). */
  private readonly clients = new Map<ServerResponse, (notice: JobNotice) => boolean>();
  private unlisten: (() => Promise<void>) | null = null;
  private keepAlive: NodeJS.Timeout | null = null;

  async start(handle: DatabaseHandle): Promise<void> {
    this.unlisten = await handle.listen(JOB_CHANNEL, (payload) => {
      const notice = parseJobNotice(payload);
      if (notice) this.broadcast("job", notice, notice);
    });
    // Proxies close quiet connections: a comment line every 15 s keeps them open.
    this.keepAlive = setInterval(() => {
      for (const client of this.clients.keys()) client.write(": keep-alive\n\n");
    }, 15_000);
    this.keepAlive.unref();
  }

  /** Takes over a response as an event stream until the client goes away. */
  attach(res: ServerResponse, sees: (notice: JobNotice) => boolean = () => true): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n\n");
    this.clients.set(res, sees);
    res.on("close", () => this.clients.delete(res));
  }

  broadcast(event: string, data: unknown, about?: JobNotice): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const [client, sees] of this.clients) if (!about || sees(about)) client.write(frame);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async stop(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const client of this.clients.keys()) client.end();
    this.clients.clear();
    await this.unlisten?.();
  }
}
