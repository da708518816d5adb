/** Replaces every occurrence of the given secrets in text by `***`. Short values are left alone (they would mask ordinary words). */
export function secretMasker(secrets: readonly (string | undefined | null)[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 6))].sort(
    (a, b) => b.length - a.length,
  );
  if (!values.length) return (text) => text;
  const pattern = new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return (text) => text.replace(pattern, "***");
}
