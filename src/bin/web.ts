// The Procfile's web process: webhooks, dashboard, API and health. Only wiring here.

import { boot, defaultWorkerId, loadJobTypesOrExit, openDatabase } from "./boot.js";
import { buildGitHubServices } from "./github-services.js";
import { startMaintenance } from "./start-maintenance.js";
import { startWeb } from "./start-web.js";

const { env, log, shutdown } = boot("web");
const database = await openDatabase(env, log, { migrate: false });
const jobTypes = loadJobTypesOrExit(env, log);
const workerId = defaultWorkerId(env);
const gh = buildGitHubServices({ env, log, db: database.db, jobTypes, writerId: workerId });
let stopMaintenance = startMaintenance({ env, log, database, gh, quotas: jobTypes.quotas });
const webStarted = startWeb({
  env,
  log,
  database,
  jobTypes,
  workerId,
  drainSeconds: env.SHUTDOWN_DRAIN_SECONDS ?? 5,
  gh,
  // Registered from the setup page: the sweeps start with the new App (workers need a restart with it).
  onRegistered: async (registered, services) => {
    stopMaintenance = startMaintenance({ env: registered, log, database, gh: services, quotas: jobTypes.quotas });
  },
});
// Set while the server starts, and waits for it: a signal meanwhile still stops it gracefully.
shutdown.stopWith(async () => {
  const stopWeb = await webStarted;
  await stopMaintenance();
  await stopWeb();
  await database.close();
});
await webStarted;
