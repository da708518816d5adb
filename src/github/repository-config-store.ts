import { eq, sql } from "drizzle-orm";
import type { JobTypes } from "../config/job-types.js";
import {
  type RepoConfig,
  RepoConfigFileError,
  type RepoConfigResult,
  validateRepoConfig,
} from "../config/repo-config.js";
import { describeYamlError } from "../config/yaml-problems.js";
import type { Database } from "../db/client.js";
import { type RepositoryConfigRow, repositoryConfigs } from "../db/schema.js";
import type { GitHubPort, RepoRef } from "./port.js";

/**
 * Reads `.github/labelrun.yml` from GitHub, validates it and remembers the
 * result, so the webhook handler can tell trigger labels from the database
 * alone. A file that does not parse is a validation problem (with line and
 * column), not an error; GitHub errors are thrown to the caller.
 */
export async function refreshRepositoryConfig(
  deps: { db: Database; github: GitHubPort; jobTypes: JobTypes; configCache?: { forget(id: number): void } },
  ref: RepoRef & { repositoryId: number; repositoryFullName: string },
  at: Date,
): Promise<RepoConfigResult> {
  let result: RepoConfigResult;
  let rawTriggers: Record<string, string> | null = null;
  try {
    const raw = await deps.github.getRepoConfig(ref);
    result = validateRepoConfig(raw, deps.jobTypes);
    rawTriggers = readTriggers(raw);
  } catch (error) {
    const problem = error instanceof RepoConfigFileError ? error.message : yamlProblem(error);
    if (!problem) throw error;
    result = { ok: false, problems: [problem] };
  }
  const config: RepoConfig | null = result.ok ? result.config : null;
  const row = {
    repositoryId: ref.repositoryId,
    repositoryFullName: ref.repositoryFullName,
    // An invalid file still says which labels it meant as triggers, so those
    // labels record a job that fails with the problem, instead of silence.
    triggers: config?.triggers ?? rawTriggers ?? deps.jobTypes.defaultTriggers,
    enabled: config?.enabled ?? true,
    removeLabelWhenDone: config?.removeLabelWhenDone ?? true,
    allowBots: [...(config?.allowBots ?? [])],
    problems: result.ok ? null : result.problems,
    config,
    fetchedAt: at,
  };
  await deps.db.transaction(async (tx) => {
    await tx
      .insert(repositoryConfigs)
      .values(row)
      .onConflictDoUpdate({ target: repositoryConfigs.repositoryId, set: row });
    // Every process's copy of this row is stale once this commits (RepositoryConfigCache).
    await tx.execute(sql`select pg_notify(${REPOSITORY_CONFIG_CHANNEL}, ${String(ref.repositoryId)})`);
  });
  deps.configCache?.forget(ref.repositoryId);
  return result;
}

/** What currentRepositoryConfig needs of a stored config. */
export type StoredRepositoryConfig = Pick<RepositoryConfigRow, "fetchedAt" | "problems" | "config">;

/** How long a stored config stands in for reading the file again; a push that changes the file refreshes it at once. */
export const FRESH_CONFIG_MS = 5 * 60_000;

/**
 * The repository's config for a dispatch: the stored one when it was read from GitHub within
 * FRESH_CONFIG_MS, else read again (refreshRepositoryConfig). Saves the one or two requests a
 * read costs (the repository's file, then the organisation's `.github`) for every job but the
 * first of a burst; `push` events that touch the file keep the stored copy honest (handle-push.ts).
 */
export async function currentRepositoryConfig(
  deps: Parameters<typeof refreshRepositoryConfig>[0],
  ref: Parameters<typeof refreshRepositoryConfig>[1],
  at: Date,
  /** The stored row when the caller read it already (null: there is none); read here when left out. */
  stored?: StoredRepositoryConfig | null,
): Promise<RepoConfigResult> {
  const row = stored === undefined ? await getCachedRepositoryConfig(deps.db, ref.repositoryId) : stored;
  const age = row ? at.getTime() - row.fetchedAt.getTime() : Number.POSITIVE_INFINITY;
  if (row && age >= 0 && age <= FRESH_CONFIG_MS) {
    if (row.problems) return { ok: false, problems: row.problems };
    if (row.config) return { ok: true, config: row.config };
  }
  return refreshRepositoryConfig(deps, ref, at);
}

/**
 * Marks every stored config of an owner's repositories stale (its organisation's `.github`
 * repository, their default, changed), so each repository's next dispatch reads it again.
 */
export async function forgetOwnerRepositoryConfigs(db: Database, owner: string): Promise<void> {
  const pattern = `${owner.replaceAll("\\", "\\\\").replaceAll("%", "\\%").replaceAll("_", "\\_")}/%`;
  await db.execute(
    sql`update repository_configs set fetched_at = to_timestamp(0) where repository_full_name like ${pattern}`,
  );
}

/** The channel a repository config's rewrite is announced on (its repository id). */
export const REPOSITORY_CONFIG_CHANNEL = "labelrun_repository_config";

export async function getCachedRepositoryConfig(
  db: Database,
  repositoryId: number,
): Promise<RepositoryConfigRow | undefined> {
  const [row] = await db.select().from(repositoryConfigs).where(eq(repositoryConfigs.repositoryId, repositoryId));
  return row;
}

function readTriggers(raw: unknown): Record<string, string> | null {
  const triggers = (raw as { triggers?: unknown } | null)?.triggers;
  if (!triggers || typeof triggers !== "object") return null;
  const entries = Object.entries(triggers).filter((entry): entry is [string, string] => typeof entry[1] === "string");
  return entries.length ? Object.fromEntries(entries) : null;
}

/** Probot's config plugin wraps YAML errors ("could not be parsed … (invalid YAML)") with the parser's error as cause. */
function yamlProblem(error: unknown): string | null {
  const e = error as { message?: string; cause?: unknown };
  if (!e?.message?.includes("could not be parsed")) return null;
  const cause = e.cause as Parameters<typeof describeYamlError>[0] | undefined;
  const detail = cause?.linePos ? describeYamlError(cause) : e.message.replace(/^\[[^\]]+\] /, "");
  return `.github/labelrun.yml does not parse: ${detail}`;
}
