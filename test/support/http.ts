import { createHmac } from "node:crypto";
import { request } from "node:http";

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A plain node:http request to a server of ours on loopback. (With nock 15.0.0
 * loaded, `fetch` with a body to localhost fails with "unusable".)
 */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

/** A delivery signed as GitHub signs it (`X-Hub-Signature-256`), posted to a server's webhook endpoint. */
export function postDelivery(
  base: string,
  delivery: { event: string; id: string; payload: unknown; secret: string },
): Promise<HttpResponse> {
  const body = JSON.stringify(delivery.payload);
  return httpRequest(`${base}/api/github/webhooks`, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": delivery.event,
      "x-github-delivery": delivery.id,
      "x-hub-signature-256": `sha256=${createHmac("sha256", delivery.secret).update(body).digest("hex")}`,
    },
  });
}
