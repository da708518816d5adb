import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EnvError, envSchema, loadEnv, normalizePrivateKey } from "../../src/config/env.js";

const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";

describe("loadEnv", () => {
  it("defaults everything and runs in setup mode without App credentials", () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ PORT: 3000, LABELRUN_DATA_DIR: "./.data", WORKER_CONCURRENCY: 2, github: null });
    expect(env.githubMissing).toEqual(["APP_ID", "PRIVATE_KEY or PRIVATE_KEY_PATH", "WEBHOOK_SECRET"]);
    expect(Object.isFrozen(env)).toBe(true);
  });

  it("builds the App credentials, accepting a key with \\n escapes or base64", () => {
    const escaped = loadEnv({ APP_ID: "123", PRIVATE_KEY: PEM.replace(/\n/g, "\\n"), WEBHOOK_SECRET: "s" });
    expect(escaped.github).toMatchObject({ appId: "123", privateKey: PEM, baseUrl: "https://api.github.com" });
    const base64 = loadEnv({ APP_ID: "1", PRIVATE_KEY: Buffer.from(PEM).toString("base64"), WEBHOOK_SECRET: "s" });
    expect(base64.github?.privateKey).toBe(PEM);
    expect(normalizePrivateKey("not a key")).toBe("not a key");
  });

  it("reads the key from PRIVATE_KEY_PATH and points at GitHub Enterprise when GHE_HOST is set", () => {
    const env = loadEnv(
      { APP_ID: "1", PRIVATE_KEY_PATH: "/k.pem", WEBHOOK_SECRET: "s", GHE_HOST: "ghe.example" },
      () => PEM,
    );
    expect(env.github).toMatchObject({ privateKey: PEM, baseUrl: "https://ghe.example/api/v3" });
  });

  it("lists every problem at once", () => {
    let caught: unknown;
    try {
      loadEnv({ PORT: "eighty", DATABASE_URL: "not a url", APP_ID: "abc", ADMIN_TOKEN: "short" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvError);
    const problems = (caught as EnvError).problems.join("\n");
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/DATABASE_URL/);
    expect(problems).toMatch(/APP_ID: must be the numeric App ID/);
    expect(problems).toMatch(/ADMIN_TOKEN: must be at least 16 characters/);
  });

  it("rejects a private key that is not PEM, and an unreadable key file, with the variable named", () => {
    expect(() => loadEnv({ PRIVATE_KEY: "-----BEGIN CERTIFICATE-----" })).toThrow(
      /PRIVATE_KEY: is not a PEM private key/,
    );
    expect(() =>
      loadEnv({ PRIVATE_KEY_PATH: "/nope.pem" }, () => {
        throw new Error("ENOENT");
      }),
    ).toThrow(/PRIVATE_KEY_PATH: cannot read \/nope.pem/);
  });
});

describe("where the server listens", () => {
  it("on loopback only without ADMIN_TOKEN, on every address with it, and where HOST says", () => {
    expect(loadEnv({}).HOST).toBe("127.0.0.1");
    expect(loadEnv({ ADMIN_TOKEN: "a-long-enough-admin-token" }).HOST).toBe("0.0.0.0");
    expect(loadEnv({ HOST: "::" }).HOST).toBe("::");
  });
});

describe("every variable the environment schema reads is documented", () => {
  const names = Object.keys(envSchema.shape).sort();
  it("in .env.example (set or as a commented line)", () => {
    const example = readFileSync(".env.example", "utf8");
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect(names.filter((name) => !listed.has(name))).toEqual([]);
  });
  it("in the README's configuration table", () => {
    const readme = readFileSync("README.md", "utf8");
    const rows = [...readme.matchAll(/^\| ([^|]+)\|/gm)].map((m) => m[1] ?? "");
    const listed = new Set(rows.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1])));
    expect(names.filter((name) => !listed.has(name))).toEqual([]);
  });
});

describe("Probot's conventions for the App's settings", () => {
  it("GHE_PROTOCOL reaches a GitHub Enterprise host over its scheme; GH_ORG is checked as a login", () => {
    const env = loadEnv({
      APP_ID: "1",
      PRIVATE_KEY: PEM,
      WEBHOOK_SECRET: "s",
      GHE_HOST: "ghe.test",
      GHE_PROTOCOL: "http",
    });
    expect(env.github?.baseUrl).toBe("http://ghe.test/api/v3");
    expect(loadEnv({ GH_ORG: "octo-org" }).GH_ORG).toBe("octo-org");
    expect(() => loadEnv({ GH_ORG: "../evil" })).toThrow(/GH_ORG: must be a GitHub organisation login/);
    expect(() => loadEnv({ GHE_PROTOCOL: "ftp" })).toThrow(/GHE_PROTOCOL/);
  });

  it("FIRST_COMMENT_DELAY_SECONDS is 5 by default, 0 for at once, and refused outside 0–60 or when not a number", () => {
    expect(loadEnv({}).FIRST_COMMENT_DELAY_SECONDS).toBe(5);
    expect(loadEnv({ FIRST_COMMENT_DELAY_SECONDS: "0" }).FIRST_COMMENT_DELAY_SECONDS).toBe(0);
    for (const bad of ["-1", "61", "1e9", "soon"])
      expect(() => loadEnv({ FIRST_COMMENT_DELAY_SECONDS: bad })).toThrow(/FIRST_COMMENT_DELAY_SECONDS/);
  });

  it("without PRIVATE_KEY or PRIVATE_KEY_PATH, the one *.pem file in the working folder is the key; two are a clear problem", () => {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-pem-"));
    writeFileSync(join(dir, "my-app.2026-11-24.private-key.pem"), PEM);
    expect(loadEnv({ APP_ID: "1", WEBHOOK_SECRET: "s" }, undefined, dir).github?.privateKey).toBe(PEM);
    writeFileSync(join(dir, "other.pem"), PEM);
    expect(() => loadEnv({ APP_ID: "1", WEBHOOK_SECRET: "s" }, undefined, dir)).toThrow(
      /PRIVATE_KEY_PATH: More than one file found/,
    );
  });
});
