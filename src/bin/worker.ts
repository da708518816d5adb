// The Procfile's worker process: claims queued jobs and runs them. Only wiring here.

import { boot, defaultWorkerId, loadJobTypesOrExit, onShutdown, openDatabase } from "./boot.js";
import { buildGitHubServices } from "./github-services.js";
import { startMaintenance } from "./start-maintenance.js";
import { startWorker } from "./start-worker.js";

const { env, log } = boot("worker");
const database = await openDatabase(env, log, { migrate: false });
const jobTypes = loadJobTypesOrExit(env, log);
const workerId = defaultWorkerId(env);
const gh = buildGitHubServices({ env, log, db: database.db, jobTypes, writerId: workerId });
const worker = await startWorker({ env, log, database, jobTypes, workerId, gh });
const stopMaintenance = startMaintenance({ env, log, database, gh, quotas: jobTypes.quotas });
onShutdown(log, async () => {
  await stopMaintenance();
  await worker.stop();
  await gh?.idle();
  await database.close();
});
