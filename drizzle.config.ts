import { defineConfig } from "drizzle-kit";

// drizzle-kit only reads the schema to generate SQL; applying migrations is
// done by src/db/migrate.ts with either driver.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
