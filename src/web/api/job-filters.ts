import type { JobPageRequest } from "../../jobs/list-jobs.js";
import { JOB_STATES, type JobState } from "../../jobs/states.js";

export class BadRequestError extends Error {}

const positiveInt = (value: string | null, name: string): number | undefined => {
  if (value === null || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1)
    throw new BadRequestError(`\`${name}\` must be a positive whole number`);
  return Number(value);
};

/**
 * Reads the job filters shared by the board, the history list and
 * `GET /api/jobs`: `status` (comma list), `installation`, `account`, `repository`
 * (owner/name), `job_type`, `number`, `before` (keyset cursor), `limit`.
 */
export function parseJobFilters(params: URLSearchParams): JobPageRequest {
  const statuses = (params.get("status") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = statuses.filter((s) => !JOB_STATES.includes(s as JobState));
  if (unknown.length)
    throw new BadRequestError(`unknown status ${unknown.join(", ")}; known: ${JOB_STATES.join(", ")}`);
  const repository = params.get("repository")?.trim() || undefined;
  if (repository && !/^[\w.-]+\/[\w.-]+$/.test(repository))
    throw new BadRequestError("`repository` must be owner/name");
  const account = params.get("account")?.trim() || undefined;
  if (account && !/^[\w.-]+(\[bot\])?$/.test(account)) throw new BadRequestError("`account` must be a GitHub login");
  const jobType = params.get("job_type")?.trim() || undefined;
  if (jobType && !/^[a-z][a-z0-9_-]*$/.test(jobType)) throw new BadRequestError("`job_type` is not a job type name");
  const limit = positiveInt(params.get("limit"), "limit");
  if (limit !== undefined && limit > 500) throw new BadRequestError("`limit` is at most 500");
  return {
    statuses: statuses.length ? (statuses as JobState[]) : undefined,
    installationId: positiveInt(params.get("installation"), "installation"),
    accountLogin: account,
    repositoryFullName: repository,
    jobType,
    targetNumber: positiveInt(params.get("number"), "number"),
    before: positiveInt(params.get("before"), "before"),
    limit,
  };
}
