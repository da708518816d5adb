// The Procfile's worker process: claims queued jobs and runs them. Only wiring here.

import { boot, defaultWorkerId, loadJobTypesOrExit, openDatabase } from "./boot.js";
import { buildGitHubServices } from "./github-services.js";
import { startMaintenance } from "./start-maintenance.js";
import { startWorker } from "./start-worker.js";

const { env, log, shutdown } = boot("worker");
const database = await openDatabase(env, log, { migrate: false });
const jobTypes = loadJobTypesOrExit(env, log);
const workerId = defaultWorkerId(env);
const gh = buildGitHubServices({ env, log, db: database.db, jobTypes, writerId: workerId });
const started = startWorker({ env, log, database, jobTypes, workerId, gh, stopping: shutdown.signal }).then(
  (worker) => ({ worker, stopMaintenance: startMaintenance({ env, log, database, gh, quotas: jobTypes.quotas }) }),
);
// Set before the worker announces itself, and waits for its start: a signal at any moment of it
// leaves no presence row and no claimed job behind.
shutdown.stopWith(async () => {
  const { worker, stopMaintenance } = await started;
  await stopMaintenance();
  await worker.stop();
  await gh?.idle();
  await database.close();
});
await started;
