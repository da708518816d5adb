// The Procfile's web process: webhooks, dashboard, API and health. Only wiring here.
import { boot, defaultWorkerId, loadJobTypesOrExit, onShutdown, openDatabase } from "./boot.js";
import { startWeb } from "./start-web.js";

const { env, log } = boot("web");
const database = await openDatabase(env, log, { migrate: false });
const jobTypes = loadJobTypesOrExit(env, log);
const stopWeb = await startWeb({ env, log, database, jobTypes, workerId: defaultWorkerId(env) });
onShutdown(log, async () => {
  await stopWeb();
  await database.close();
});
