// The Procfile's worker process: claims queued jobs and runs them. Only wiring here.
import { boot, defaultWorkerId, loadJobTypesOrExit, onShutdown, openDatabase } from "./boot.js";
import { startWorker } from "./start-worker.js";

const { env, log } = boot("worker");
const database = await openDatabase(env, log, { migrate: false });
const jobTypes = loadJobTypesOrExit(env, log);
const stopWorker = await startWorker({ env, log, database, jobTypes, workerId: defaultWorkerId(env) });
onShutdown(log, async () => {
  await stopWorker();
  await database.close();
});
