import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/**
 * Paths pino blanks in every log line. Tokens, keys and URLs with passwords
 * must never reach the logs, whatever object carries them.
 */
export const REDACTED_PATHS = [
  "privateKey",
  "*.privateKey",
  "token",
  "*.token",
  "webhookSecret",
  "*.webhookSecret",
  "secret",
  "*.secret",
  "password",
  "*.password",
  "databaseUrl",
  "*.databaseUrl",
  "DATABASE_URL",
  "*.DATABASE_URL",
  "PRIVATE_KEY",
  "*.PRIVATE_KEY",
  "WEBHOOK_SECRET",
  "*.WEBHOOK_SECRET",
  "ADMIN_TOKEN",
  "*.ADMIN_TOKEN",
  "GITHUB_TOKEN",
  "*.GITHUB_TOKEN",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  // Probot logs every GitHub request's body at debug: comment bodies (agent text, strangers'
  // words) and token requests stay out of the logs.
  "body",
  "*.body",
];

export interface LoggerOptions {
  level: string;
  format?: "json" | "pretty";
  /** Where lines go (tests capture them); default stdout. */
  destination?: pino.DestinationStream;
}

/** The process's root logger; children carry job id and delivery id. */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    base: { app: "labelrun" },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.format === "pretty") {
    return pino(base, pretty({ colorize: true, sync: true }));
  }
  return pino(base);
}
