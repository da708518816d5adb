import { createServer, type IncomingMessage, type Server } from "node:http";

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

/**
 * A tiny stand-in for GitHub's REST API on loopback, for tests that run
 * labelrun in separate processes (nock cannot reach into them). It answers
 * what labelrun asks and records every request.
 */
export async function startFakeGitHub(
  options: {
    issueState?: "open" | "closed";
    /** The App the manifest flow registers (`POST /settings/apps/new` → redirect with a code → conversion). */
    registers?: { id: number; slug: string; pem: string; webhookSecret: string };
  } = {},
) {
  const requests: RecordedRequest[] = [];
  const manifests = new Map<string, Record<string, unknown>>();
  let nextComment = 1000;
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://x");
    // GitHub Enterprise's API lives under /api/v3 of the same host.
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, "");
    requests.push({ method: req.method ?? "GET", path, body });
    const send = (status: number, data: unknown) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(data));
    };
    if (options.registers && req.method === "POST" && /^(\/organizations\/[^/]+)?\/settings\/apps\/new$/.test(path)) {
      // The browser's form post: GitHub would ask the person to confirm; this one registers at once.
      const manifest = JSON.parse(new URLSearchParams(String(body?.raw ?? "")).get("manifest") ?? "{}");
      const code = `code${manifests.size + 1}x${Math.random().toString(36).slice(2)}`;
      manifests.set(code, manifest);
      const back = new URL(String(manifest.redirect_url));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      res.writeHead(302, { location: back.toString() });
      res.end();
      return;
    }
    const conversion = /^\/app-manifests\/([^/]+)\/conversions$/.exec(path);
    if (options.registers && req.method === "POST" && conversion) {
      const manifest = manifests.get(conversion[1] ?? "");
      // A code works once.
      if (!manifest) return send(404, { message: "Not Found" });
      manifests.delete(conversion[1] ?? "");
      const app = options.registers;
      return send(201, {
        id: app.id,
        slug: app.slug,
        name: manifest.name,
        html_url: `http://${req.headers.host}/apps/${app.slug}`,
        pem: app.pem,
        webhook_secret: app.webhookSecret,
        client_id: "Iv1.fakeclient123",
        client_secret: "fakeclientsecret0123456789",
        manifest,
      });
    }
    if (req.method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(path)) {
      return send(201, {
        token: `ghs_fake_${Math.random().toString(36).slice(2)}`,
        expires_at: "2099-01-01T00:00:00Z",
      });
    }
    if (req.method === "DELETE" && path === "/installation/token") {
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method === "GET" && path.includes("/contents/")) return send(404, { message: "Not Found" });
    if (req.method === "GET" && path === "/app") return send(200, { slug: "labelrun-test", name: "labelrun test" });
    const issue = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/.exec(path);
    if (req.method === "GET" && issue) {
      const m = issue;
      return send(200, {
        number: Number(m[3]),
        state: options.issueState ?? "open",
        title: "Spelling error in the README file",
        body: "It says Helo.",
        html_url: `https://github.com/${m[1]}/${m[2]}/issues/${m[3]}`,
        labels: [{ name: "agent:implement" }],
        user: { login: "octocat" },
      });
    }
    const pulls = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(path);
    if (req.method === "POST" && pulls) {
      const number = 39 + requests.filter((r) => r.method === "POST" && r.path === path).length;
      // An agent's result must link to https on GitHub: the answer names github.com whatever host this is.
      return send(201, { number, html_url: `https://github.com/${pulls[1]}/${pulls[2]}/pull/${number}` });
    }
    if (req.method === "GET" && pulls) return send(200, []);
    const pull = /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/.exec(path);
    if (req.method === "GET" && pull) {
      return send(200, { number: Number(pull[1]), head: { ref: "feature", sha: "abc123" } });
    }
    if (req.method === "POST" && /\/issues\/\d+\/comments$/.test(path)) return send(201, { id: nextComment++ });
    if (req.method === "PATCH" && /\/issues\/comments\/\d+$/.test(path)) return send(200, {});
    if (req.method === "DELETE" && /\/labels\//.test(path)) return send(200, []);
    if (req.method === "POST" && /\/labels$/.test(path)) return send(201, {});
    send(404, { message: `fake GitHub does not know ${req.method} ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    /** The bodies of every comment write, its creation or an edit, in order. */
    commentWrites: () =>
      requests
        .filter(
          (r) =>
            (r.method === "POST" && /\/issues\/\d+\/comments$/.test(r.path)) ||
            (r.method === "PATCH" && /\/issues\/comments\/\d+$/.test(r.path)),
        )
        .map((r) => String(r.body?.body)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { raw: text };
  }
}
