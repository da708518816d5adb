// `npm start`: web, worker and maintenance in one process. With no DATABASE_URL
// it uses the embedded PGlite database in LABELRUN_DATA_DIR and migrates it.
// Only wiring here.

import { boot, defaultWorkerId, loadJobTypesOrExit, onShutdown, openDatabase } from "./boot.js";
import { buildGitHubServices } from "./github-services.js";
import { startMaintenance } from "./start-maintenance.js";
import { startWeb } from "./start-web.js";
import { startWorker } from "./start-worker.js";

const { env, log } = boot("start");
const database = await openDatabase(env, log, { migrate: true });
const jobTypes = loadJobTypesOrExit(env, log);
const workerId = defaultWorkerId(env);
const gh = buildGitHubServices({ env, log, db: database.db, jobTypes, writerId: workerId });
const worker = await startWorker({ env, log, database, jobTypes, workerId, gh });
const stopWeb = await startWeb({
  env,
  log,
  database,
  jobTypes,
  workerId,
  drainSeconds: env.SHUTDOWN_DRAIN_SECONDS ?? 0,
  gh,
  worker: () => worker.readiness,
});
const stopMaintenance = startMaintenance({ env, log, database, gh });
onShutdown(log, async () => {
  await stopMaintenance();
  await stopWeb();
  await worker.stop();
  await gh?.idle();
  await database.close();
});
