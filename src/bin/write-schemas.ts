// `npm run schemas`: writes the JSON Schemas of .github/labelrun.yml and labelrun.config.yml
// from the zod schemas (test/config/json-schemas.test.ts fails when they are out of date).
import { writeFileSync } from "node:fs";
import { jsonSchemas, SCHEMA_FILES, schemaText } from "../config/json-schemas.js";

const schemas = jsonSchemas();
for (const [name, path] of Object.entries(SCHEMA_FILES)) {
  writeFileSync(path, schemaText(schemas[name as keyof typeof SCHEMA_FILES]));
  process.stdout.write(`wrote ${path}\n`);
}
