// The peer for bench:intake: a Probot app that verifies the signature and does
// nothing, on the same Probot version and HTTP stack. Prints its port.
import { createServer } from "node:http";
import pino from "pino";
import { createNodeMiddleware, Probot } from "probot";

const probot = new Probot({
  appId: 1,
  privateKey: process.env.PRIVATE_KEY ?? "",
  secret: process.env.WEBHOOK_SECRET ?? "",
  log: pino({ level: "warn" }),
});
const middleware = await createNodeMiddleware(
  (app) => {
    app.onAny(async () => {});
  },
  { probot, webhooksPath: "/api/github/webhooks" },
);
const server = createServer((req, res) => {
  void middleware(req, res, () => {
    res.writeHead(404);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
