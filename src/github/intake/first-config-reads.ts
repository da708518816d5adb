import type { Clock } from "../../clock.js";
import type { LabelEvent } from "./events.js";

/**
 * Labels that arrived for a repository whose config was never read, waiting for its one read:
 * a burst of labels costs one read of `.github/labelrun.yml` (two requests), not one per label,
 * and every label among them is looked at again once the read tells which are triggers. The
 * same label on the same issue waits once; a repository holds at most `maxPerRepository`
 * distinct labels (the rest are left out, as a label that is not a trigger is). A read whose
 * task never ran (the follow-up queue was full) is started again after `staleMs`.
 */
export class FirstConfigReads {
  private readonly waiting = new Map<number, { since: number; events: Map<string, LabelEvent> }>();

  constructor(
    private readonly clock: Clock,
    private readonly staleMs = 120_000,
    private readonly maxPerRepository = 1_000,
  ) {}

  /** Adds the label to its repository's wait; true when the caller is to start the read. */
  wait(event: LabelEvent): boolean {
    const now = this.clock.now().getTime();
    const entry = this.waiting.get(event.repositoryId);
    const start = !entry || now - entry.since > this.staleMs;
    const events = entry?.events ?? new Map<string, LabelEvent>();
    if (events.size < this.maxPerRepository) events.set(`${event.kind}#${event.number}:${event.label}`, event);
    this.waiting.set(event.repositoryId, { since: start ? now : (entry?.since ?? now), events });
    return start;
  }

  /** The labels that waited for this repository's read (the read is done: the next label reads the stored row). */
  take(repositoryId: number): LabelEvent[] {
    const entry = this.waiting.get(repositoryId);
    this.waiting.delete(repositoryId);
    return [...(entry?.events.values() ?? [])];
  }
}
