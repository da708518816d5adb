// `npm start`: web, worker and maintenance in one process. With no DATABASE_URL
// it uses the embedded PGlite database in LABELRUN_DATA_DIR and migrates it.
// Only wiring here.
import { boot, defaultWorkerId, loadJobTypesOrExit, onShutdown, openDatabase } from "./boot.js";
import { startWeb } from "./start-web.js";
import { startWorker } from "./start-worker.js";

const { env, log } = boot("start");
const database = await openDatabase(env, log, { migrate: true });
const jobTypes = loadJobTypesOrExit(env, log);
const workerId = defaultWorkerId(env);
const stopWeb = await startWeb({ env, log, database, jobTypes, workerId });
const stopWorker = await startWorker({ env, log, database, jobTypes, workerId });
onShutdown(log, async () => {
  await stopWeb();
  await stopWorker();
  await database.close();
});
