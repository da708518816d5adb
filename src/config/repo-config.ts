import { z } from "zod";
import type { JobTypes } from "./job-types.js";

/** Where a repository (or its organisation's `.github` repository) configures labelrun. */
export const REPO_CONFIG_PATH = ".github/labelrun.yml";

/**
 * The largest `.github/labelrun.yml` (and file it `_extends`) labelrun reads. A real one is a few
 * lines; the cap bounds what a repository writer can make the server parse (YAML parsing grows
 * faster than the file: 64 KiB of keys took 0.3 s, 1 MiB 9 s).
 */
export const MAX_REPO_CONFIG_BYTES = 16 * 1024;

/** Trigger labels one repository may declare. */
export const MAX_TRIGGERS = 100;

/** A config file labelrun will not use, whatever is asked again: too large, a bad `_extends`, a folder. */
export class RepoConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RepoConfigFileError";
  }
}

/** `.github/labelrun.yml`. An organisation's `.github` repository can supply defaults (`_extends`). */
export const repoConfigSchema = z
  .object({
    /** Turn labelrun off for this repository without uninstalling it. */
    enabled: z.boolean().default(true),
    /** Which labels trigger which job type (job types are the operator's). */
    triggers: z
      .record(z.string().min(1).max(100), z.string().min(1).max(100))
      .refine((triggers) => Object.keys(triggers).length <= MAX_TRIGGERS, {
        message: `at most ${MAX_TRIGGERS} trigger labels`,
      })
      .optional(),
    /** Remove the trigger label when a job ends, so adding it again is a one-step retry. */
    remove_label_when_done: z.boolean().default(true),
    /** Jobs on issues/PRs opened by people without write access wait for `/labelrun approve`. */
    require_approval_for_outsiders: z.boolean().default(false),
    /** Bot accounts whose labels may trigger jobs (by login, e.g. `renovate[bot]`). */
    allow_bots: z.array(z.string()).default([]),
    /** Record jobs and say on the issue what would run, but start no agent: the safe way to try labelrun. */
    dry_run: z.boolean().default(false),
    /** Set by the config plugin when the file extends another; ignored here. */
    _extends: z.string().optional(),
  })
  .strict();

export interface RepoConfig {
  enabled: boolean;
  triggers: Readonly<Record<string, string>>;
  removeLabelWhenDone: boolean;
  allowBots: readonly string[];
  requireApprovalForOutsiders: boolean;
  dryRun: boolean;
}

export type RepoConfigResult = { ok: true; config: RepoConfig } | { ok: false; problems: string[] };

/**
 * Validates a repository's parsed config (null: no file) against the
 * operator's job types. Problems are sentences a maintainer can act on.
 */
export function validateRepoConfig(raw: unknown, jobTypes: JobTypes): RepoConfigResult {
  const parsed = repoConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const path = issue.path.map(String).join(".");
        return `${REPO_CONFIG_PATH}${path ? ` \`${path}\`` : ""}: ${issue.message}`;
      }),
    };
  }
  const triggers = parsed.data.triggers ?? jobTypes.defaultTriggers;
  const known = [...jobTypes.byName.keys()];
  const problems = Object.entries(triggers)
    .filter(([, jobType]) => !jobTypes.byName.has(jobType))
    .map(
      ([label, jobType]) =>
        `${REPO_CONFIG_PATH} \`triggers\`: the label \`${label}\` names an unknown job type \`${jobType}\` — known: ${known.join(", ")}`,
    );
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    config: Object.freeze({
      enabled: parsed.data.enabled,
      triggers: Object.freeze({ ...triggers }),
      removeLabelWhenDone: parsed.data.remove_label_when_done,
      allowBots: Object.freeze([...parsed.data.allow_bots]),
      requireApprovalForOutsiders: parsed.data.require_approval_for_outsiders,
      dryRun: parsed.data.dry_run,
    }),
  };
}

/** The config of a repository without a file. */
export function defaultRepoConfig(jobTypes: JobTypes): RepoConfig {
  const result = validateRepoConfig(null, jobTypes);
  if (!result.ok) throw new Error(result.problems.join("; "));
  return result.config;
}
