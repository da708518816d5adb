// The Procfile's worker process: claims queued jobs and runs them. Only wiring here.
import { boot, defaultWorkerId, onShutdown, openDatabase } from "./boot.js";

const { env, log } = boot("worker");
const database = await openDatabase(env, log, { migrate: false });
const workerId = defaultWorkerId(env);
log.info({ workerId, slots: env.WORKER_CONCURRENCY }, "worker ready");
onShutdown(log, async () => {
  await database.close();
});
