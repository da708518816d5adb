import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { coerceError } from "../errors.js";
import { describeYamlError, locateIssue } from "./yaml-problems.js";

/** The agent's token when a job type names none: push a branch, open a PR, read the issue. */
export const DEFAULT_PERMISSIONS: Readonly<Record<string, "read" | "write">> = Object.freeze({
  contents: "write",
  pull_requests: "write",
  issues: "read",
  metadata: "read",
});

const limitsSchema = z
  .object({
    /** Memory one process of the agent may use (data segment), in MiB. */
    memory_mb: z.number().int().min(64).default(4096),
    /** Processes and threads the agent may have at once. */
    processes: z.number().int().min(8).default(512),
    /** CPU seconds one process may use (default: the time limit). */
    cpu_seconds: z.number().int().positive().optional(),
    /** What the workspace (checkout, HOME, /tmp) may hold, in MiB; past it the run fails. */
    workspace_mb: z.number().int().min(16).default(4096),
    /** Largest file the agent may write, in MiB (default: the workspace limit). */
    file_size_mb: z.number().int().min(1).optional(),
  })
  .strict();

function isPlainRelativePath(path: string): boolean {
  return !isAbsolute(path) && !path.split("/").includes("..") && !path.startsWith("-");
}

const jobTypeSchema = z
  .object({
    /** What the job does, shown on the dashboard. */
    description: z.string().optional(),
    /** The command to run in the workspace: an argv list, spawned without a shell. */
    command: z.array(z.string().min(1)).min(1),
    /** Time limit of one run; past it the process group is killed and the job fails with TIMEOUT. */
    timeout_minutes: z
      .number()
      .positive()
      .max(24 * 60)
      .default(45),
    /** Runs before the job is abandoned ("gave up after N attempts"). */
    max_attempts: z.number().int().min(1).max(20).default(3),
    /**
     * The most one run may spend, in USD, by the agent's own `::cost::<usd>` lines: past it the
     * worker stops the agent's process group and the job fails with BUDGET_EXCEEDED, its cost recorded.
     */
    max_cost_usd: z.number().positive().max(100_000).optional(),
    /** Running jobs of this type per installation (can only lower INSTALLATION_CONCURRENCY). */
    concurrency: z.number().int().min(1).optional(),
    /** Names of server environment variables the command may see (e.g. an API key). */
    env: z.array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")).default([]),
    /** Clone the repository into the workspace before running. */
    clone: z.boolean().default(true),
    /** The label that triggers this job type when a repository has no config file. */
    label: z.string().min(1).optional(),
    /** Every job of this type waits for `/labelrun approve` from someone with write access. */
    require_approval: z.boolean().default(false),
    /** When a job of this type completes with a pull request, a job of this type runs on that PR. */
    follow_up: z.string().optional(),
    /**
     * The review cycle: when a person with write access requests changes on the pull request a
     * job of this type opened (or comments `/labelrun revise …` on it), a job of this type runs on
     * that pull request — a new round of the same work.
     */
    on_review: z.string().optional(),
    /** Review rounds at most per pull request (`on_review`); the next request gets a comment instead. */
    max_review_rounds: z.number().int().min(1).max(50).default(3),
    /** Job types this one waits for on the same issue/PR: held `blocked_by` while one is active. */
    after: z.array(z.string()).default([]),
    /**
     * How the agent is contained: `bubblewrap` (the default) runs it in its own namespaces with
     * nothing of the server visible; `none` runs it as the worker itself — only for agents you
     * trust as much as the server (a warning is logged at start-up and shown on the job page).
     */
    sandbox: z.enum(["bubblewrap", "none"]).default("bubblewrap"),
    /**
     * `full` (the default): the internet through a network namespace of its own (slirp4netns),
     * without the host's loopback (its database, labelrun's own server); `none`: no network;
     * `host`: the host's network as it is, loopback services included — only where nothing
     * listens there that an agent must not reach.
     */
    network: z.enum(["full", "none", "host"]).default("full"),
    /** Resource limits of one run (inside the sandbox). */
    limits: limitsSchema.prefault({}),
    /**
     * Files or folders the command needs besides the script named in `command`, visible
     * read-only at the same path (relative paths are from this file's folder), e.g. `agents/`.
     */
    mounts: z.array(z.string().min(1)).default([]),
    /** The installation token's permissions for the agent (GitHub's names and levels). */
    permissions: z.record(z.string().regex(/^[a-z_]+$/), z.enum(["read", "write"])).default(DEFAULT_PERMISSIONS),
    /**
     * For pull requests: paths restored from the base branch before the agent starts, so a
     * pull request cannot hand the agent its own hooks or settings (`.claude/`, `CLAUDE.md`).
     */
    restore_from_base: z
      .array(z.string().min(1).refine(isPlainRelativePath, "must be a relative path inside the repository"))
      .default([]),
  })
  .strict();

/** A monthly quota: jobs run and/or cost in USD per calendar month (UTC). */
const quotaSchema = z
  .object({
    /** Jobs that reach the queue this month, at most. */
    jobs_per_month: z.number().int().min(0).optional(),
    /** USD spent by jobs that ended this month, at most. */
    cost_usd_per_month: z.number().min(0).optional(),
  })
  .strict();

/** The operator's job-types file (`labelrun.config.yml`): only the operator decides what runs. */
export const jobTypesFileSchema = z
  .object({
    /** The job types, by name (used in repository configs and labels). */
    job_types: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, "job type names are lower-case words"), jobTypeSchema),
    /**
     * Monthly quotas. `default` applies to each installation; `installations` overrides it for
     * one (by installation id or account login); `repositories` adds a quota of one repository's
     * own (`owner/name`). A job that would pass one is held `quota_reached`.
     */
    quotas: z
      .object({
        default: quotaSchema.optional(),
        installations: z.record(z.string(), quotaSchema).default({}),
        repositories: z.record(z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"), quotaSchema).default({}),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((file) => Object.keys(file.job_types).length > 0, { message: "declare at least one job type" });

export type JobTypeConfig = Omit<z.infer<typeof jobTypeSchema>, "timeout_minutes"> & {
  name: string;
  label: string;
  timeout_minutes: number;
};

export interface JobTypesOptions {
  /** Base for relative command paths (the config file's folder). */
  baseDir?: string;
  /** Time limit for job types that set none (DEFAULT_TIMEOUT_MINUTES). */
  defaultTimeoutMinutes?: number;
}

export type Quota = z.infer<typeof quotaSchema>;
export type Quotas = NonNullable<z.infer<typeof jobTypesFileSchema>["quotas"]>;

export interface JobTypes {
  /** Every job type by name. */
  byName: ReadonlyMap<string, JobTypeConfig>;
  /** The operator's monthly quotas (none: unlimited). */
  quotas?: Quotas;
  /** Trigger labels for repositories without a config file: each job type's `label`. */
  defaultTriggers: Readonly<Record<string, string>>;
}

export class JobTypesFileError extends Error {
  readonly problems: string[];
  constructor(path: string, problems: string[]) {
    super(`the job-types file ${path} is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "JobTypesFileError";
    this.problems = problems;
  }
}

/**
 * Parses the job-types file text; every problem is listed with its line and
 * column. With `baseDir`, command arguments that are relative paths to files
 * there (`examples/agents/demo-agent.mjs`) become absolute, since agents run
 * inside their checkout.
 */
export function parseJobTypes(text: string, path = "labelrun.config.yml", options: JobTypesOptions = {}): JobTypes {
  const { baseDir, defaultTimeoutMinutes = 45 } = options;
  const document = YAML.parseDocument(text);
  if (document.errors.length) throw new JobTypesFileError(path, document.errors.map(describeYamlError));
  const parsed = jobTypesFileSchema.safeParse(document.toJS());
  if (!parsed.success) {
    throw new JobTypesFileError(
      path,
      parsed.error.issues.map((issue) => locateIssue(text, issue)),
    );
  }
  const names = Object.keys(parsed.data.job_types);
  const problems = Object.entries(parsed.data.job_types).flatMap(([name, config]) =>
    [...(config.follow_up ? [config.follow_up] : []), ...(config.on_review ? [config.on_review] : []), ...config.after]
      .filter((other) => !names.includes(other))
      .map((other) => `\`job_types.${name}\`: names an unknown job type \`${other}\` — known: ${names.join(", ")}`),
  );
  if (problems.length) throw new JobTypesFileError(path, problems);
  const byName = new Map<string, JobTypeConfig>();
  const defaultTriggers: Record<string, string> = {};
  for (const [name, config] of Object.entries(parsed.data.job_types)) {
    const label = config.label ?? `agent:${name}`;
    const command = baseDir ? config.command.map((arg) => resolveArgument(arg, baseDir)) : config.command;
    const mounts = config.mounts.map((path) => resolve(baseDir ?? ".", path));
    const timeout_minutes = config.timeout_minutes ?? defaultTimeoutMinutes;
    byName.set(name, Object.freeze({ ...config, command, mounts, name, label, timeout_minutes }));
    defaultTriggers[label] = name;
  }
  return Object.freeze({ byName, defaultTriggers: Object.freeze(defaultTriggers), quotas: parsed.data.quotas });
}

export function loadJobTypes(
  path: string,
  options: { defaultTimeoutMinutes?: number } = {},
  read = (p: string) => readFileSync(p, "utf8"),
): JobTypes {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new JobTypesFileError(path, [
      `cannot read it (${coerceError(error).message}); set LABELRUN_CONFIG to its path`,
    ]);
  }
  return parseJobTypes(text, path, { ...options, baseDir: dirname(resolve(path)) });
}

function resolveArgument(arg: string, baseDir: string): string {
  if (isAbsolute(arg) || !arg.includes("/")) return arg;
  const candidate = resolve(baseDir, arg);
  return existsSync(candidate) ? candidate : arg;
}
