import type { YAMLError } from "yaml";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";

/** "line 3, column 5: message" for a YAML syntax error. */
export function describeYamlError(error: YAMLError): string {
  const at = error.linePos?.[0];
  const message = error.message.split("\n")[0] ?? error.message;
  return at ? `line ${at.line}, column ${at.col}: ${message.replace(/ at line \d+, column \d+:?$/, "")}` : message;
}

/**
 * "line 3, column 10: `triggers.agent:x`: message" for a schema problem,
 * pointing at the YAML node the problem is about (or its nearest parent).
 */
export function locateIssue(text: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  const where = path.length ? `\`${path.join(".")}\`: ` : "";
  const position = positionOf(text, path);
  return position
    ? `line ${position.line}, column ${position.col}: ${where}${issue.message}`
    : `${where}${issue.message}`;
}

function positionOf(text: string, path: string[]): { line: number; col: number } | null {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, keepSourceTokens: true });
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]);
  }
  return null;
}
