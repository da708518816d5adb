// `npm start`: web, worker and maintenance in one process. With no DATABASE_URL
// it uses the embedded PGlite database in LABELRUN_DATA_DIR and migrates it.
// Only wiring here.

import { boot, defaultWorkerId, loadJobTypesOrExit, openDatabase } from "./boot.js";
import { buildGitHubServices } from "./github-services.js";
import { startMaintenance } from "./start-maintenance.js";
import { startWeb } from "./start-web.js";
import { startWorker } from "./start-worker.js";

const { env, log, shutdown } = boot("start");
const database = await openDatabase(env, log, { migrate: true });
const jobTypes = loadJobTypesOrExit(env, log);
const workerId = defaultWorkerId(env);
let gh = buildGitHubServices({ env, log, db: database.db, jobTypes, writerId: workerId });
let worker: Awaited<ReturnType<typeof startWorker>> = { stop: async () => {}, readiness: null };
let stopMaintenance = async () => {};
const started = (async () => {
  worker = await startWorker({ env, log, database, jobTypes, workerId, gh, stopping: shutdown.signal });
  stopMaintenance = startMaintenance({ env, log, database, gh, quotas: jobTypes.quotas });
  return startWeb({
    env,
    log,
    database,
    jobTypes,
    workerId,
    drainSeconds: env.SHUTDOWN_DRAIN_SECONDS ?? 0,
    gh,
    worker: () => worker.readiness,
    // Registered from the setup page: the worker and the sweeps start with the new App (they were idle).
    onRegistered: async (registered, services) => {
      gh = services;
      worker = await startWorker({ env: registered, log, database, jobTypes, workerId, gh, stopping: shutdown.signal });
      stopMaintenance = startMaintenance({ env: registered, log, database, gh, quotas: jobTypes.quotas });
    },
  });
})();
// Set before the worker announces itself, and waits for the start: a signal at any moment of it
// leaves no presence row and no claimed job behind.
shutdown.stopWith(async () => {
  const stopWeb = await started;
  await stopMaintenance();
  await stopWeb();
  await worker.stop();
  await gh?.idle();
  await database.close();
});
await started;
