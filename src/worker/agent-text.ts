/**
 * Text that came from an agent, made safe to store: NUL (which PostgreSQL
 * refuses in text) becomes U+FFFD, and it is cut to `maxChars` with a note.
 */
export function cleanAgentText(text: string, maxChars = Number.POSITIVE_INFINITY): string {
  const clean = text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
  if (clean.length <= maxChars) return clean;
  return `${clean.slice(0, maxChars)}… [cut: ${clean.length - maxChars} more characters]`;
}

/** Every string in a parsed JSON value, cleaned and masked (the result file's fields). */
export function cleanAgentValue<T>(value: T, clean: (text: string) => string): T {
  if (typeof value === "string") return clean(value) as T;
  if (Array.isArray(value)) return value.map((item) => cleanAgentValue(item, clean)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [clean(key), cleanAgentValue(item, clean)]),
    ) as T;
  }
  return value;
}
