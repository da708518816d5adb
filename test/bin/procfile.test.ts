import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openTestDatabase, postgresAvailable } from "../support/databases.js";
import { httpRequest } from "../support/http.js";
import { startFromProcfile } from "../support/procfile.js";

// The Procfile runs the compiled build (dist/, made by `npm ci`'s prepare): these run its lines.
describe.runIf(postgresAvailable)("the Procfile's compiled processes", () => {
  it("release applies the migrations and exits 0; web serves /readyz from dist and stops cleanly on SIGTERM", async () => {
    const database = await openTestDatabase("postgres");
    try {
      const env = { DATABASE_URL: database.url as string, PORT: "0", SHUTDOWN_DRAIN_SECONDS: "0" };
      const release = startFromProcfile("release", env);
      expect(await release.exited, release.output()).toBe(0);
      expect(release.output()).toContain("migrations");

      const web = startFromProcfile("web", env);
      try {
        let port = 0;
        for (const started = Date.now(); !port; ) {
          if (Date.now() - started > 20_000 || web.child.exitCode !== null) throw new Error(web.output());
          port = Number(/"port":(\d+)/.exec(web.output())?.[1] ?? 0);
          await new Promise((r) => setTimeout(r, 50));
        }
        const ready = await httpRequest(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status, ready.body).toBe(200);
        // It is the compiled build that answers, not the TypeScript source.
        expect(web.output()).not.toContain("tsx");
        expect(readFileSync(`/proc/${web.child.pid}/cmdline`, "utf8")).toContain("dist/bin/web.js");
      } finally {
        process.kill(-(web.child.pid ?? 0), "SIGTERM");
        expect(await web.exited, web.output()).toBe(0);
      }
    } finally {
      await database.close();
    }
  }, 60_000);
});
