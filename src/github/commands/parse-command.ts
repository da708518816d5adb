/** The comment commands, in the order the README lists them. */
export const COMMANDS = ["retry", "cancel", "approve", "reject", "pause", "resume", "interrupt", "revise"] as const;
export type CommandName = (typeof COMMANDS)[number];

export type ParsedCommand =
  | { kind: "command"; command: CommandName; jobType: string | null; note?: string }
  /** `word` is null when the word is not one labelrun would repeat (only letters, digits, `-`, `_`). */
  | { kind: "unknown"; word: string | null };

/**
 * Finds `/labelrun <command> [job type]` on a line of its own in a comment,
 * as a person sees it rendered: never inside code (fenced with ``` or ~~~, or
 * indented), a quote (`> …`) or an HTML comment (invisible on GitHub), and
 * only as the exact word `/labelrun` (not `/labelrunner`). The first one wins.
 */
export function parseCommand(body: string): ParsedCommand | null {
  for (const line of visibleLines(body)) {
    // What follows the job type is free text (ignored here).
    const match = /^\/labelrun(?:\s+(\S+)(?:\s+(\S+))?(?:\s.*)?)?$/.exec(line.trim());
    if (!match || /^\s{4}|^\t/.test(line)) continue;
    const word = match[1] ?? "";
    const command = word.toLowerCase();
    if (command === "revise") {
      // `/labelrun revise <what to change>`: the rest of the line is the request, not a job type.
      const note = line
        .trim()
        .replace(/^\/labelrun\s+\S+\s*/, "")
        .slice(0, 2_000);
      return { kind: "command", command: "revise", jobType: null, ...(note ? { note } : {}) };
    }
    if ((COMMANDS as readonly string[]).includes(command)) {
      const jobType = match[2]?.toLowerCase().replace(/[.,;:!?]+$/, "") || null;
      return { kind: "command", command: command as CommandName, jobType };
    }
    return { kind: "unknown", word: /^[A-Za-z0-9_-]{1,40}$/.test(word) ? word : null };
  }
  return null;
}

/** The lines of a comment outside fenced code, quotes and HTML comments. */
function* visibleLines(body: string): Generator<string> {
  // HTML comments first (they may span lines); what is left of their lines stays in place.
  const text = body.replace(/<!--[\s\S]*?(?:-->|$)/g, (comment) => comment.replace(/[^\n]/g, " "));
  let fence: { char: string; length: number } | null = null;
  for (const line of text.split(/\r?\n/)) {
    const opening = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      const closing = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
      if (closing?.[1]?.[0] === fence.char && (closing[1]?.length ?? 0) >= fence.length) fence = null;
      continue;
    }
    if (opening?.[1]) {
      fence = { char: opening[1][0] ?? "`", length: opening[1].length };
      continue;
    }
    if (/^ {0,3}>/.test(line)) continue;
    yield line;
  }
}
