import type { ProbotOctokit } from "probot";
import type { DeliveriesPort } from "./port.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/** GitHub's hook deliveries API over the app-authenticated (JWT) Octokit, `probot.auth()`. */
export function octokitDeliveriesPort(authenticateApp: () => Promise<Octokit>): DeliveriesPort {
  return {
    async list(cursor) {
      const app = await authenticateApp();
      const response = await app.rest.apps.listWebhookDeliveries({ per_page: 100, ...(cursor ? { cursor } : {}) });
      const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.link ?? "")?.[1];
      return {
        deliveries: response.data.map((d) => ({
          id: d.id,
          guid: d.guid,
          deliveredAt: new Date(d.delivered_at),
          redelivery: d.redelivery,
          statusCode: d.status_code,
          event: d.event,
        })),
        next: next ? new URL(next).searchParams.get("cursor") : null,
      };
    },
    async redeliver(deliveryId) {
      const app = await authenticateApp();
      await app.rest.apps.redeliverWebhookDelivery({ delivery_id: deliveryId });
    },
  };
}
