/**
 * Turns anything thrown into an Error, keeping the original as its cause:
 * the one way every catch reads what went wrong (a rejected promise may carry
 * a string, an object, or nothing at all).
 */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (value === undefined || value === null) return new Error(String(value), { cause: value });
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return new Error(text, { cause: value });
}
