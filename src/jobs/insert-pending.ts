import { is, type SQL, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Database } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import {
  columnOf,
  columnValues,
  PrebuiltStatement,
  placeholder,
  recordsetColumns,
  recordsetRow,
} from "../db/prebuilt-statement.js";
import { SameTurn, type SameTurnEntry } from "../db/same-turn.js";
import { type JobRow, jobs, type NewJobRow } from "../db/schema.js";
import type { CreateJobRequest, NewJob } from "./create-job.js";
import { recordMoves } from "./record-moves.js";
import { TERMINAL_STATES } from "./states.js";

/**
 * A new `pending` job with its `CREATED` (or `RETRY`, when the target's last job of this type
 * ended) event and its status comment's mark, in one statement; undefined when the insert met
 * either unique index (this delivery was recorded, or a job of this type is active on the
 * target), which createJob's transaction tells apart. A new job has no reactions due. The
 * installation, when given, is inserted if missing in the same statement (the job's foreign key).
 *
 * Outside a transaction the jobs asked for in one turn of the event loop go in one statement
 * (one write to the socket, one commit, one WAL flush for several webhooks: a trigger's
 * statement was the web's main cost under load), each with its own values, event and answer.
 */
export function insertPending(db: Database, request: CreateJobRequest): Promise<JobRow | undefined> {
  if (is(db, PgTransaction)) return insertAlone(db, request);
  // Two jobs for one target and job type in one turn: the second goes alone, so each row the
  // batch returns is one request's (the active-job index lets one of them in).
  const key = targetKey(request.job);
  if (together.some(db, (other) => targetKey(other.job) === key)) return insertAlone(db, request);
  return together.add(db, request);
}

async function insertAlone(db: Database, request: CreateJobRequest): Promise<JobRow | undefined> {
  const statement = request.installation ? insertPendingWithInstallation : insertPendingAlone;
  const [row] = await statement.rows(db, {
    ...columnValues(jobs, rowFor(request.job, request.at)),
    ...eventOf(request),
  });
  return row ? mapTableRow(jobs, row) : undefined;
}

type Waiting = SameTurnEntry<CreateJobRequest, JobRow | undefined>;

const together = new SameTurn<CreateJobRequest, JobRow | undefined>((db, batch) => {
  void insertTogether(db, batch);
});

async function insertTogether(db: Database, batch: readonly Waiting[]): Promise<void> {
  const [only] = batch;
  if (only && batch.length === 1) {
    only.answer(insertAlone(db, only.request));
    return;
  }
  let inserted: Map<string, Record<string, unknown>>;
  try {
    const rows = await insertManyStatement.rows(db, {
      rows: JSON.stringify(batch.map(({ request }) => rowOf(request))),
    });
    inserted = new Map(rows.map((row) => [rowKey(row), row]));
  } catch {
    // A bad row, or two statements waiting on each other's new rows, fails the whole statement:
    // each job is tried again on its own, so only a failing one fails.
    for (const { request, answer } of batch) answer(insertAlone(db, request));
    return;
  }
  for (const { request, answer } of batch) {
    const row = inserted.get(targetKey(request.job));
    answer(Promise.resolve(row ? mapTableRow(jobs, row) : undefined));
  }
}

/** The one-active-job rule's key: a returned row's and a request's. */
const targetKey = (job: Pick<NewJob, "repositoryId" | "targetNumber" | "jobType">) =>
  `${job.repositoryId}/${job.targetNumber}/${job.jobType}`;
const rowKey = (row: Record<string, unknown>) =>
  targetKey({
    repositoryId: Number(row.repository_id),
    targetNumber: Number(row.target_number),
    jobType: String(row.job_type),
  });

/** The event's and the installation's values of a request, by the statements' names. */
function eventOf(request: CreateJobRequest) {
  return {
    at: request.at.toISOString(),
    actor: request.actor,
    eventData: request.job.triggerLabel ? JSON.stringify({ label: request.job.triggerLabel }) : null,
    accountLogin: request.installation?.accountLogin ?? null,
    accountType: request.installation?.accountType ?? "User",
  };
}

/** A request as one row of the batch's recordset: columns by name, jsonb as it is. */
function rowOf(request: CreateJobRequest): Record<string, unknown> {
  const event = eventOf(request);
  return {
    ...recordsetRow(jobs, rowFor(request.job, request.at)),
    event_actor: event.actor,
    event_data: request.job.triggerLabel ? { label: request.job.triggerLabel } : null,
    with_installation: request.installation !== undefined,
    account_login: event.accountLogin,
    account_type: event.accountType,
  };
}

const ended = () =>
  sql.join(
    TERMINAL_STATES.map((state) => sql`${state}::job_status`),
    sql`, `,
  );
const columnNames = () => Object.keys(rowFor(SHAPE, new Date(0))).map((key) => columnOf(jobs, key));

/** What createJob records of each job it inserts: from nothing to `pending`, CREATED or RETRY. */
const createdOrRetried = (values: { at: SQL; actor: SQL; data: SQL }) =>
  recordMoves({
    from: null,
    to: "pending",
    ...values,
    code: sql`case when moved.retry_of is null then 'CREATED' else 'RETRY' end`,
    message: sql`case when moved.retry_of is null then null else 'retry of job ' || moved.retry_of end`,
  });

/** insertAlone's statement, built once (see PrebuiltStatement); its values are rowFor's and the event's. */
function insertPendingStatement(withInstallation: boolean) {
  return new PrebuiltStatement(() => {
    const value = placeholder;
    const at = sql`${value("at")}::timestamptz`;
    const keys = Object.keys(rowFor(SHAPE, new Date(0)));
    // `do nothing`: an upsert would lock the installation's row until commit, for every trigger.
    const installation = withInstallation
      ? sql`installation as (
          insert into installations (id, account_login, account_type, created_at, updated_at)
          values (${value("installationId")}, ${value("accountLogin")}, ${value("accountType")}, ${at}, ${at})
          on conflict (id) do nothing
        ), `
      : sql``;
    return sql`with ${installation}previous as (
        select id, status, retry_number from jobs
        where repository_id = ${value("repositoryId")} and target_number = ${value("targetNumber")}
          and job_type = ${value("jobType")}
        order by id desc limit 1
      ), moved as (
        insert into jobs (${sql.join(
          columnNames().map((column) => sql.identifier(column.name)),
          sql`, `,
        )}, retry_of, retry_number)
        values (${sql.join(keys.map(value), sql`, `)},
          (select id from previous where status in (${ended()})),
          coalesce((select retry_number + 1 from previous where status in (${ended()})), 0))
        on conflict do nothing
        returning *
      ),
      ${createdOrRetried({ at, actor: value("actor"), data: sql`${value("eventData")}::jsonb` })}
      select * from moved`;
  });
}
const insertPendingWithInstallation = insertPendingStatement(true);
const insertPendingAlone = insertPendingStatement(false);

/**
 * The jobs of one turn in one statement: the same as insertAlone's for each row of the
 * recordset `rows`. Rows and installations go in key order, so two such statements that insert
 * the same new keys meet them in the same order (a clash waits, it does not deadlock). Each
 * inserted row is joined back to its request's row by the one-active-job key, which the batch
 * holds once, for its event's actor and data.
 */
const insertManyStatement = new PrebuiltStatement(() => {
  const columns = columnNames();
  const names = columns.map((column) => sql.identifier(column.name));
  return sql`with v as (
      select * from jsonb_to_recordset(${placeholder("rows")}::jsonb) as v(${recordsetColumns(columns)},
        event_actor text, event_data jsonb, with_installation boolean, account_login text, account_type text)
    ), installation as (
      insert into installations (id, account_login, account_type, created_at, updated_at)
      select distinct on (installation_id) installation_id, account_login, account_type, created_at, created_at
      from v where with_installation
      order by installation_id, created_at
      on conflict (id) do nothing
    ), inserted as (
      insert into jobs (${sql.join(names, sql`, `)}, retry_of, retry_number)
      select ${sql.join(
        names.map((name) => sql`v.${name}`),
        sql`, `,
      )},
        case when previous.status in (${ended()}) then previous.id end,
        case when previous.status in (${ended()}) then previous.retry_number + 1 else 0 end
      from v left join lateral (
        select id, status, retry_number from jobs
        where repository_id = v.repository_id and target_number = v.target_number and job_type = v.job_type
        order by id desc limit 1
      ) previous on true
      order by v.repository_id, v.target_number, v.job_type
      on conflict do nothing
      returning *
    ), moved as (
      select inserted.*, v.event_actor as event_actor_, v.event_data as event_data_
      from inserted join v on v.repository_id = inserted.repository_id
        and v.target_number = inserted.target_number and v.job_type = inserted.job_type
    ),
    ${createdOrRetried({ at: sql`moved.created_at`, actor: sql`event_actor_`, data: sql`event_data_` })}
    select * from moved`;
});

/** A job with every field rowFor sets, for the names of the statements' values. */
const SHAPE: NewJob = {
  installationId: 0,
  repositoryId: 0,
  repositoryFullName: "",
  targetNumber: 0,
  targetKind: "issue",
  jobType: "",
};

export function rowFor(job: NewJob, at: Date): NewJobRow {
  return {
    installationId: job.installationId,
    repositoryId: job.repositoryId,
    repositoryFullName: job.repositoryFullName,
    targetNumber: job.targetNumber,
    targetKind: job.targetKind,
    targetTitle: job.targetTitle ?? null,
    targetUrl: job.targetUrl ?? null,
    jobType: job.jobType,
    triggerLabel: job.triggerLabel ?? null,
    triggeredBy: job.triggeredBy ?? null,
    deliveryId: job.deliveryId ?? null,
    maxAttempts: job.maxAttempts ?? 3,
    timeoutSeconds: job.timeoutSeconds ?? 45 * 60,
    hold: job.hold ?? null,
    blockedBy: job.blockedBy ?? null,
    parentJobId: job.parentJobId ?? null,
    reviewRound: job.reviewRound ?? null,
    review: job.review ?? null,
    checkHeadSha: job.checkHeadSha ?? null,
    targetOpenAt: job.targetOpenAt ?? null,
    targetSnapshot: job.targetSnapshot ?? null,
    status: "pending",
    createdAt: at,
    updatedAt: at,
  };
}
