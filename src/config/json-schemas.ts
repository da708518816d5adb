import { z } from "zod";
import { jobTypesFileSchema } from "./job-types.js";
import { MAX_TRIGGERS, repoConfigSchema } from "./repo-config.js";

/** Where the committed schemas live, relative to the project root (editors point at these). */
export const SCHEMA_FILES = {
  repoConfig: "schemas/labelrun.repo.schema.json",
  jobTypes: "schemas/labelrun.config.schema.json",
} as const;

/**
 * The JSON Schemas of the two files people write, generated from the zod
 * schemas that validate them (so they cannot drift: a test compares them
 * with the committed files). Editors validate with them through the
 * `# yaml-language-server: $schema=…` line.
 */
export function jsonSchemas(): Record<keyof typeof SCHEMA_FILES, Record<string, unknown>> {
  const generate = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  const repo = generate(repoConfigSchema) as { properties?: Record<string, Record<string, unknown>> };
  // A refinement JSON Schema cannot carry on its own: the count of trigger labels.
  if (repo.properties?.triggers) repo.properties.triggers.maxProperties = MAX_TRIGGERS;
  return {
    repoConfig: {
      ...repo,
      title: ".github/labelrun.yml",
      description: "A repository's labelrun settings: which labels trigger which of the operator's job types.",
    },
    jobTypes: {
      ...generate(jobTypesFileSchema),
      title: "labelrun.config.yml",
      description: "The operator's job types: what runs, how it is contained, and for how long.",
    },
  };
}

/** A schema file's text as committed: two-space JSON and a final newline. */
export function schemaText(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
