import { buildJobServices, type JobServicesDeps } from "../job-services.js";
import type { AfterResponse, IntakeDeps } from "./intake-deps.js";

export interface IntakeCollaborators extends JobServicesDeps {
  after: AfterResponse;
}

/** Wires dispatch and the status comment into the intake; constructs no client. */
export function buildIntakeDeps(c: IntakeCollaborators): IntakeDeps {
  const services = buildJobServices(c);
  return {
    db: c.db,
    clock: c.clock,
    log: c.log,
    jobTypes: c.jobTypes,
    github: c.github,
    after: c.after,
    syncComment: services.syncComment,
    dispatch: services.dispatch,
  };
}
