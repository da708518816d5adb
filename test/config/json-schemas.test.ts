import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jsonSchemas, SCHEMA_FILES, schemaText } from "../../src/config/json-schemas.js";

describe("the JSON Schemas editors validate with", () => {
  it.each(
    Object.entries(SCHEMA_FILES),
  )("%s (%s) is what the zod schema generates now (run `npm run schemas`)", (name, path) => {
    const generated = schemaText(jsonSchemas()[name as keyof typeof SCHEMA_FILES]);
    expect(readFileSync(path, "utf8")).toBe(generated);
  });

  it("says what a reader needs: strict keys, the label limits, the job type names' shape", () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking generated JSON
    const { repoConfig, jobTypes } = jsonSchemas() as unknown as { repoConfig: any; jobTypes: any };
    expect(repoConfig.additionalProperties).toBe(false);
    expect(repoConfig.properties.triggers).toMatchObject({ maxProperties: 100, propertyNames: { maxLength: 100 } });
    expect(jobTypes.properties.job_types.propertyNames).toMatchObject({ pattern: "^[a-z][a-z0-9_-]*$" });
    expect(jobTypes.properties.job_types.additionalProperties.properties.sandbox).toMatchObject({
      enum: ["bubblewrap", "none"],
    });
  });

  it("the shipped labelrun.config.yml and the README point editors at the schemas", () => {
    expect(readFileSync("labelrun.config.yml", "utf8")).toContain(
      "# yaml-language-server: $schema=./schemas/labelrun.config.schema.json",
    );
    expect(readFileSync("README.md", "utf8")).toContain("# yaml-language-server: $schema=");
  });
});
