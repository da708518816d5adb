import type { JobRow } from "../../db/schema.js";
import { findActiveJobs } from "../../jobs/find-jobs.js";
import { liftHold } from "../../jobs/holds.js";
import { transitionJob } from "../../jobs/transition-job.js";
import { recordCommand } from "../commands/command-store.js";
import { parseCommand } from "../commands/parse-command.js";
import type { CommandRow } from "../commands/run-command.js";
import { splitFullName } from "../port.js";
import type { TargetEvent } from "./events.js";
import type { IntakeDeps } from "./intake-deps.js";
import type { PerPersonLimit } from "./per-person-limit.js";

export interface CommentEvent extends TargetEvent {
  commentId: number;
  body: string;
  createdAt: Date;
  /** A review comment on the diff (`pull_request_review_comment`), not one of the conversation. */
  inThread?: boolean;
}

export interface CommentIntakeDeps extends IntakeDeps {
  /** Commands one person may send per installation in a while; more are ignored with a log line. */
  commandLimit?: PerPersonLimit;
  runCommand(row: CommandRow): Promise<unknown>;
  /** Writer check for answers (the same cache the commands use). */
  canWrite(ref: { installationId: number; owner: string; repo: string }, username: string): Promise<boolean>;
  onJobChanged(job: JobRow): Promise<void>;
}

/**
 * `issue_comment.created` (edits are ignored): a `/labelrun` command is
 * recorded by comment id — the same comment delivered twice acts once — and
 * carried out after the response. Any other comment by someone with write
 * access, posted after an agent's question, answers it: the answer goes into
 * the next run's context and the job is queued again. Bots never command or answer.
 */
export async function handleComment(
  deps: CommentIntakeDeps,
  event: CommentEvent,
): Promise<"command" | "duplicate" | "answer" | "ignored"> {
  if (event.sender.isBot) return "ignored";
  const parsed = parseCommand(event.body);
  if (
    parsed &&
    deps.commandLimit &&
    !deps.commandLimit.allow(`${event.installation.id}:${event.sender.login}`, deps.clock.now())
  ) {
    deps.log.warn(
      { deliveryId: event.deliveryId, author: event.sender.login },
      "ignored a /labelrun command: this person sent too many in the last minute",
    );
    return "ignored";
  }
  if (parsed) {
    const row = await recordCommand(deps.db, {
      commentId: event.commentId,
      installationId: event.installation.id,
      repositoryId: event.repositoryId,
      repositoryFullName: event.repositoryFullName,
      targetNumber: event.number,
      author: event.sender.login,
      command: parsed.kind === "command" ? parsed.command : `unknown:${parsed.word ?? "?"}`,
      jobType: parsed.kind === "command" ? parsed.jobType : null,
      note: parsed.kind === "command" ? (parsed.note ?? null) : null,
      inThread: event.inThread ?? false,
      createdAt: deps.clock.now(),
      ...(parsed.kind === "unknown" ? { state: "refused", outcome: "unknown command" } : {}),
    });
    if (!row) return "duplicate";
    const queue = deps.commands ?? deps.after;
    if (parsed.kind === "unknown") {
      queue.run("unknown command", () => replyUnknown(deps, event, parsed.word));
      return "command";
    }
    queue.run("command", () => deps.runCommand(row));
    return "command";
  }
  // Answers to an agent's question are written in the conversation, not in review threads.
  if (event.inThread) return "ignored";
  const waiting = (
    await findActiveJobs(deps.db, { repositoryId: event.repositoryId, targetNumber: event.number })
  ).filter((job) => job.hold === "awaiting_input" && job.questionAskedAt && job.questionAskedAt <= event.createdAt);
  if (!waiting.length) return "ignored";
  deps.after.run("answer", () => answer(deps, event, waiting));
  return "answer";
}

async function answer(
  deps: CommentIntakeDeps,
  event: CommentEvent,
  waiting: Awaited<ReturnType<typeof findActiveJobs>>,
) {
  const { owner, repo } = splitFullName(event.repositoryFullName);
  if (!(await deps.canWrite({ installationId: event.installation.id, owner, repo }, event.sender.login))) return;
  for (const job of waiting) {
    const at = deps.clock.now();
    const lifted = await liftHold(deps.db, {
      job,
      expect: "awaiting_input",
      actor: `github:${event.sender.login}`,
      at,
      message: "answered",
      answer: { by: event.sender.login, body: event.body, at: event.createdAt.toISOString() },
    });
    if (!lifted.ok) continue;
    const queued = await transitionJob(deps.db, {
      jobId: job.id,
      from: "deferred",
      to: "queued",
      at,
      actor: `github:${event.sender.login}`,
    });
    await deps.onJobChanged(queued.ok ? queued.job : lifted.job);
  }
}

async function replyUnknown(deps: CommentIntakeDeps, event: CommentEvent, word: string | null) {
  const { owner, repo } = splitFullName(event.repositoryFullName);
  const ref = { installationId: event.installation.id, owner, repo };
  await deps.github.addReaction(ref, event.commentId, "confused", event.inThread);
  // Only a writer gets a reply; anyone else's mistyped command gets the reaction alone.
  if (!(await deps.canWrite(ref, event.sender.login))) return;
  await deps.github.createComment(
    { ...ref, number: event.number },
    // The word is repeated only when it is a plain word: a stranger's text never breaks out of the code span.
    `@${event.sender.login}, ${word ? `\`/labelrun ${word}\` is` : "that is"} not a command. Known: retry, cancel, approve, reject, pause, resume, interrupt (optionally followed by a job type).`,
  );
}
