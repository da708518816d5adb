/**
 * `fetch` with a deadline for GitHub's API. Octokit on native fetch has no
 * timeout, and a request that never answers would hold a follow-up slot or a
 * worker forever; past the deadline it fails like a network error (transient:
 * the job is retried, the comment stays marked for the sweep).
 */
export function fetchWithTimeout(timeoutMs: number, base: typeof fetch = fetch): typeof fetch {
  return (input, init = {}) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    return base(input, { ...init, signal });
  };
}
