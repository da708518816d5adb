/**
 * Environment for git that authenticates to GitHub with a token without the
 * token ever reaching a command line, a URL or `.git/config`: an
 * `http.extraHeader` given through `GIT_CONFIG_*` variables, as
 * actions/checkout does with its config.
 */
export function gitTokenEnv(token: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}`,
  };
}

/**
 * The agent's git credential helper: it answers with the current token from
 * the token file, so a push works after the worker renewed the token, and the
 * token is stored nowhere in the checkout.
 */
export function agentGitEnv(tokenFile: string): Record<string, string> {
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "credential.helper",
    GIT_CONFIG_VALUE_0: `!f() { test "$1" = get || exit 0; echo username=x-access-token; printf 'password=%s\\n' "$(cat '${tokenFile}')"; }; f`,
  };
}
