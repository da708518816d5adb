/** The comment commands, in the order the README lists them. */
export const COMMANDS = ["retry", "cancel", "approve", "reject", "pause", "resume", "interrupt"] as const;
export type CommandName = (typeof COMMANDS)[number];

export type ParsedCommand =
  | { kind: "command"; command: CommandName; jobType: string | null }
  | { kind: "unknown"; word: string };

/**
 * Finds `/labelrun <command> [job type]` on a line of its own in a comment
 * (the first one wins; quoted lines `> …` and code blocks are not commands).
 */
export function parseCommand(body: string): ParsedCommand | null {
  let inCode = false;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("```")) inCode = !inCode;
    if (inCode || !line.startsWith("/labelrun")) continue;
    const [, word = "", jobType] = line.split(/\s+/);
    const command = word.toLowerCase();
    if ((COMMANDS as readonly string[]).includes(command)) {
      return { kind: "command", command: command as CommandName, jobType: jobType?.toLowerCase() ?? null };
    }
    return { kind: "unknown", word };
  }
  return null;
}
