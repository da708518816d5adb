/** A masker that can learn secrets while a run goes on (a renewed token). */
export interface SecretMask {
  (text: string): string;
  add(secret: string | null | undefined): void;
}

/**
 * Replaces every occurrence of the given secrets in text by `***`. Short
 * values are left alone (they would mask ordinary words).
 */
export function secretMasker(secrets: readonly (string | undefined | null)[]): SecretMask {
  const values = new Set<string>();
  let pattern: RegExp | null = null;
  const add = (secret: string | null | undefined) => {
    if (typeof secret !== "string" || secret.length < 6 || values.has(secret)) return;
    values.add(secret);
    const sorted = [...values].sort((a, b) => b.length - a.length);
    pattern = new RegExp(sorted.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  };
  for (const secret of secrets) add(secret);
  const mask = ((text: string) => (pattern ? text.replace(pattern, "***") : text)) as SecretMask;
  mask.add = add;
  return mask;
}
