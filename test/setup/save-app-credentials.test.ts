import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { PRIVATE_KEY_FILE, saveAppCredentials, upsertDotenv } from "../../src/setup/save-app-credentials.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";

const app = {
  id: 77,
  slug: "labelrun-test",
  htmlUrl: "https://github.com/apps/labelrun-test",
  pem: TEST_PRIVATE_KEY,
  webhookSecret: "0123abcd",
  clientId: "Iv1.abc",
  clientSecret: "s3cr3t",
};

describe("saving a registered App's credentials", () => {
  it("keeps an existing .env's other lines, replaces the keys it sets and drops an inline PRIVATE_KEY", () => {
    const before = '# mine\nPORT=4000\nAPP_ID=1\nPRIVATE_KEY="-----BEGIN…"\nexport WEBHOOK_SECRET=old\n';
    const after = upsertDotenv(before, { APP_ID: "77", PRIVATE_KEY_PATH: "/k.pem", WEBHOOK_SECRET: "new" }, "# added");
    expect(after).toBe('# mine\nPORT=4000\nAPP_ID="77"\nWEBHOOK_SECRET="new"\n\n# added\nPRIVATE_KEY_PATH="/k.pem"\n');
    expect(() => upsertDotenv("", { A: 'x"\nEVIL=1' }, "#")).toThrow(/quote/);
  });

  it("writes a 0600 key file and a 0600 .env that loadEnv reads back as a configured App", () => {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-save-"));
    writeFileSync(join(dir, ".env"), "LOG_LEVEL=debug\n", { mode: 0o644 });
    const values = saveAppCredentials({ dir, app });
    expect(statSync(join(dir, PRIVATE_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);
    // Node's own .env reader (what `npm start` uses) gets back exactly what was saved.
    const parsed = parseEnv(readFileSync(join(dir, ".env"), "utf8"));
    expect(parsed).toMatchObject(values);
    const env = loadEnv(parsed);
    expect(env.github?.appId).toBe("77");
    expect(env.github?.privateKey.trim()).toBe(TEST_PRIVATE_KEY.trim());
    expect(env.github?.webhookSecret).toBe("0123abcd");
    expect(env.GITHUB_CLIENT_ID).toBe("Iv1.abc");
    expect(readFileSync(join(dir, ".env"), "utf8")).toMatch(/^LOG_LEVEL=debug\n\n# Written by labelrun/);
  });
});
