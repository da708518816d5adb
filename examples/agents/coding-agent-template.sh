#!/usr/bin/env bash
# A template for wrapping a real coding-agent CLI as a labelrun job type.
# Point a job type's `command` at a copy of this file, e.g.
#   command: ["bash", "examples/agents/my-agent.sh"]
#   env: [ANTHROPIC_API_KEY]        # the only server variables the agent may see
#
# What labelrun gives you (README.md, "The agent protocol"):
#   cwd                a fresh shallow clone (the PR head for pull requests)
#   GITHUB_TOKEN       the installation token at the start (this one repository, the job type's
#                      permissions); LABELRUN_TOKEN_FILE always holds the current one (renewed
#                      during long runs) and git's credential helper reads it for push
#   the sandbox        bubblewrap: the checkout is the only writable place besides $HOME and /tmp;
#                      give the job type `network: full` (the default) so the CLI reaches its API,
#                      and list files this script needs besides itself in `mounts:`
#   LABELRUN_CONTEXT   JSON: { job: {...}, target: { title, body, url, labels, head? } }
#   LABELRUN_RESULT    where to write the outcome as JSON
#   stdout lines "::progress::<0-100> <message>" update the status comment
# Exit 75 to be retried later; any other non-zero exit without a result fails the job.
set -euo pipefail

title=$(node -e 'const c=require(process.env.LABELRUN_CONTEXT); console.log(c.target.title)')
echo "::progress::5 starting on: ${title}"

branch="labelrun/job-${LABELRUN_JOB_ID}"
git switch -c "$branch"

# Replace this line with your agent CLI. Feed it the issue, let it edit the checkout.
# Example: my-agent --prompt-file <(node -e '...') --max-budget-usd 2
echo "::progress::50 the agent would work here"

if git diff --quiet && git diff --cached --quiet; then
  # Nothing changed: report it instead of opening an empty PR.
  printf '{"status":"failed","code":"NO_OUTPUT","message":"the agent made no change"}' > "$LABELRUN_RESULT"
  exit 0
fi

git -c user.name="labelrun" -c user.email="labelrun@users.noreply.github.com" commit -am "labelrun: ${title}"
git push origin "$branch"
# Open the PR with the API (curl with the token from "$LABELRUN_TOKEN_FILE", or gh) and report it:
url="https://github.com/${LABELRUN_REPOSITORY}/compare/${branch}"
printf '{"status":"completed","result_url":"%s","summary":"pushed %s","cost_usd":0,"input_tokens":0,"output_tokens":0}' \
  "$url" "$branch" > "$LABELRUN_RESULT"
