// The Procfile's release phase: apply migrations to DATABASE_URL and exit.
// Only wiring here.
import { boot, openDatabase } from "./boot.js";

const { env, log } = boot("release");
if (!env.DATABASE_URL) log.warn("DATABASE_URL is unset: migrating the embedded PGlite database instead");
const handle = await openDatabase(env, log, { migrate: true });
await handle.close();
