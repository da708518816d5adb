import { describe, expect, it } from "vitest";
import { octokitDeliveriesPort } from "../../src/github/deliveries-port.js";
import { api, makeProbot } from "../support/github-harness.js";

describe("GitHub's hook deliveries API", () => {
  it("lists deliveries as the app (JWT), follows the Link cursor, and asks for a redelivery", async () => {
    const probot = makeProbot();
    const port = octokitDeliveriesPort(() => probot.auth() as never);
    const scope = api()
      .matchHeader("authorization", /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i)
      .get("/app/hook/deliveries")
      .query({ per_page: "100" })
      .reply(
        200,
        [
          {
            id: 12,
            guid: "g-12",
            delivered_at: "2026-03-01T11:59:00Z",
            redelivery: false,
            status_code: 502,
            event: "issues",
          },
        ],
        { link: '<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_11>; rel="next"' },
      )
      .get("/app/hook/deliveries")
      .query({ per_page: "100", cursor: "v1_11" })
      .reply(200, [])
      .post("/app/hook/deliveries/12/attempts")
      .reply(202, {});
    const first = await port.list(null);
    expect(first).toEqual({
      deliveries: [
        {
          id: 12,
          guid: "g-12",
          deliveredAt: new Date("2026-03-01T11:59:00Z"),
          redelivery: false,
          statusCode: 502,
          event: "issues",
        },
      ],
      next: "v1_11",
    });
    expect(await port.list("v1_11")).toEqual({ deliveries: [], next: null });
    await port.redeliver(12);
    expect(scope.isDone()).toBe(true);
  });
});
