import { is, type SQL, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import { type Database, queryRows } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { columnOf, recordsetColumns, recordsetRow } from "../db/prebuilt-statement.js";
import { SameTurn, type SameTurnEntry } from "../db/same-turn.js";
import { jobs, type NewJobRow } from "../db/schema.js";
import { bigintArrayParam } from "../db/sql-values.js";
import { recordMoves } from "./record-moves.js";
import { isTerminal } from "./states.js";
import {
  answerMoved,
  notMoved,
  type TransitionRequest,
  type TransitionResult,
  transitionAlone,
} from "./transition-job.js";

interface EndRequest {
  transition: TransitionRequest;
  values: Partial<NewJobRow>;
}
type Waiting = SameTurnEntry<EndRequest, TransitionResult>;

/** The run ends of this process waiting for the next turn of the event loop, per database. */
const waiting = new SameTurn<EndRequest, TransitionResult>((db, batch) => {
  for (const group of groupByShape(batch)) void endRuns(db, group);
});

/**
 * Whether transitionJob sends this transition with the others of its turn: a
 * run's end under the worker's claim (`running` → an end state, with or without
 * the pause flag the worker read, as finish sends it), outside a caller's
 * transaction. Those are the moves that come in bursts (a worker's
 * slots ending together) and that all touch their installation's running
 * count, so one at a time they queue on that row.
 */
export function endsRunTogether(db: Database, request: TransitionRequest): boolean {
  return request.from === "running" && isTerminal(request.to) && request.claim !== undefined && !is(db, PgTransaction);
}

/**
 * transitionJob for a run's end: the ends asked for in one turn of the event
 * loop that move the same way (same states, actor and patched columns) go in
 * one statement, each row under its own compare-and-set (`status = 'running'`,
 * the claim's worker and attempt, and the pause flag when one is expected) with its own values, event (at its own
 * time, code, message and data) and comment mark; each caller gets its own
 * answer. The statement first locks the installations it will count down in
 * id order, so two such statements never wait on each other in a cycle; when
 * the statement fails (a bad row, or a deadlock with a job moved elsewhere at
 * that moment), each end is tried again in a statement of its own.
 */
export function endRunTogether(
  db: Database,
  request: TransitionRequest,
  values: Partial<NewJobRow>,
): Promise<TransitionResult> {
  // The same job twice in one turn: the second goes in a statement of its own; the row's lock
  // settles which one wins, and the other sees it.
  if (waiting.some(db, (other) => other.transition.jobId === request.jobId))
    return transitionAlone(db, request, values);
  return waiting.add(db, { transition: request, values });
}

function groupByShape(batch: readonly Waiting[]): Waiting[][] {
  const groups = new Map<string, Waiting[]>();
  for (const entry of batch) {
    const { from, to, actor } = entry.request.transition;
    const key = JSON.stringify([from, to, actor, keysOf(entry.request.values)]);
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  return [...groups.values()];
}

const keysOf = (values: Partial<NewJobRow>) =>
  Object.keys(values)
    .filter((key) => values[key as keyof NewJobRow] !== undefined)
    .sort();

async function endRuns(db: Database, group: readonly Waiting[]): Promise<void> {
  const [first] = group;
  if (!first) return;
  let moved: Map<number, Record<string, unknown>>;
  try {
    const result = await queryRows(db, endRunsStatement(first, group));
    moved = new Map(result.map((row) => [Number(row.id), row]));
  } catch {
    // One bad row, or a deadlock with a job moved elsewhere at the same moment, fails the whole
    // statement: each end is tried again on its own, so only a failing one fails.
    for (const { request, answer } of group) answer(transitionAlone(db, request.transition, request.values));
    return;
  }
  for (const { request: end, answer } of group) {
    const row = moved.get(end.transition.jobId);
    answer(row ? answerMoved(db, end.transition, mapTableRow(jobs, row)) : notMoved(db, end.transition.jobId));
  }
}

/** The one statement for a group of run ends of one shape (the first entry's keys are every entry's). */
function endRunsStatement(first: Waiting, group: readonly Waiting[]): SQL {
  const { from, to, actor } = first.request.transition;
  const keys = keysOf(first.request.values) as Array<keyof NewJobRow>;
  const columns = keys.map((key) => columnOf(jobs, key));
  const rows = group.map(({ request: { transition: request, values } }) => ({
    id: request.jobId,
    claim_worker: request.claim?.workerId,
    claim_attempt: request.claim?.attempt,
    event_code: request.code ?? null,
    event_message: request.message ?? null,
    event_data: request.data ?? null,
    expect_pause: request.expect?.pauseRequested ?? null,
    ...recordsetRow(jobs, Object.fromEntries(keys.map((key) => [key, values[key]]))),
  }));
  // The ids also as an array: the planner probes the primary key for them (it cannot size a recordset).
  const ids = bigintArrayParam(group.map(({ request: end }) => end.transition.jobId));
  const sets = columns.map((column) => sql`${sql.identifier(column.name)} = v.${sql.identifier(column.name)}`);
  return sql`
    with v as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(
        id bigint, claim_worker text, claim_attempt integer, event_code text, event_message text, event_data jsonb,
        expect_pause boolean,
        ${recordsetColumns(columns)})
    ), locked as (
      select i.id from installations i
      where i.id = any(array(select distinct j.installation_id from jobs j where j.id = any(${ids})))
      order by i.id
      for no key update of i
    ), moved as (
      update jobs set ${sql.join(sets, sql`, `)},
        reaction_version = jobs.reaction_version + (case when jobs.duplicate_of is null then 1 else 0 end)
      from v
      -- 'running' as a literal (only runs end together): as a parameter, the generic plan guessed
      -- a status's share of a large table and PostgreSQL planned every call anew.
      where jobs.id = any(${ids}) and jobs.id = v.id and jobs.status = 'running'
        and jobs.worker_id = v.claim_worker and jobs.attempt = v.claim_attempt
        and (v.expect_pause is null or jobs.pause_requested = v.expect_pause)
        and (select count(*) from locked) >= 0
      returning jobs.*, v.event_code as event_code_, v.event_message as event_message_, v.event_data as event_data_
    ),
    ${recordMoves({
      from,
      to,
      at: sql`updated_at`,
      actor,
      code: sql`event_code_`,
      message: sql`event_message_`,
      data: sql`event_data_`,
    })}
    select * from moved`;
}
