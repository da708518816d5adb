/** Server variables every agent sees (nothing else of the server's environment, unless the job type names it). */
export const BASE_ENV_ALLOW_LIST = ["PATH", "LANG"] as const;

/**
 * Builds the agent's environment from an allow-list: `PATH`, `LANG`, the
 * job's token, the `LABELRUN_*` variables, the run's own `HOME`/`TMPDIR` and
 * git credential helper (`fixed`), and the variables the job type declares.
 * The private key, webhook secret, database URL and everything else the
 * server has stay out.
 */
export function buildAgentEnv(params: {
  serverEnv: NodeJS.ProcessEnv;
  declared: readonly string[];
  token: string | null;
  labelrun: Record<string, string>;
  fixed?: Record<string, string>;
}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_ALLOW_LIST, ...params.declared]) {
    const value = params.serverEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, params.fixed ?? {});
  if (params.token) env.GITHUB_TOKEN = params.token;
  for (const [name, value] of Object.entries(params.labelrun)) env[`LABELRUN_${name}`] = value;
  return env;
}
