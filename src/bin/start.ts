// `npm start`: web, worker and maintenance in one process. With no DATABASE_URL
// it uses the embedded PGlite database in LABELRUN_DATA_DIR and migrates it.
// Only wiring here.
import { boot, defaultWorkerId, loadJobTypesOrExit, onShutdown, openDatabase } from "./boot.js";
import { startWeb } from "./start-web.js";

const { env, log } = boot("start");
const database = await openDatabase(env, log, { migrate: true });
const jobTypes = loadJobTypesOrExit(env, log);
const stopWeb = await startWeb({ env, log, database, jobTypes, workerId: defaultWorkerId(env) });
onShutdown(log, async () => {
  await stopWeb();
  await database.close();
});
