import type { Logger } from "pino";
import type { ApplicationFunction } from "probot";

export interface AppDependencies {
  log: Logger;
}

/**
 * The Probot application function: routes GitHub events to labelrun's
 * handlers. Only routing lives here; the handlers receive plain values.
 */
export function createApp(deps: AppDependencies): ApplicationFunction {
  return (app) => {
    app.onAny(async (context) => {
      deps.log.debug({ event: context.name, deliveryId: context.id }, "webhook received");
    });
  };
}
