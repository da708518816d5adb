/**
 * Text labelrun did not write (an agent's summary, progress, question or
 * failure message), made safe to put in a Markdown table cell of a comment
 * the App posts: one line, at most `max` characters, no HTML, no link or image
 * syntax, no autolinked URL, and no @-mention — so a stranger's words cannot
 * make the App ping a team, show an image, or offer a link in its own voice.
 */
export function neutralize(text: string, max = 500): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return (
    cut
      .replace(/\r?\n|\r/g, " ")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      // Brackets make links and images, a pipe a new table cell, a backslash could undo these escapes.
      // Code spans and emphasis stay: labelrun's own messages use them, and neither links or mentions.
      .replace(/([[\]|\\])/g, "\\$1")
      // A zero-width space after @ keeps the text readable but no longer a mention.
      .replace(/@(?=[A-Za-z0-9_-])/g, "@&#8203;")
      // GitHub autolinks bare URLs and www. addresses; break them.
      .replace(/:\/\//g, ":&#8203;//")
      .replace(/\bwww\./gi, (www) => `${www.slice(0, 3)}&#8203;.`)
  );
}

/** Whether `url` is an https URL into the repository on GitHub's host (no port, no credentials). */
export function isRepositoryUrl(url: string, repositoryFullName: string, githubHost = "github.com"): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const repoPath = `/${repositoryFullName}`.toLowerCase();
  const path = parsed.pathname.toLowerCase();
  return (
    parsed.protocol === "https:" &&
    parsed.hostname.toLowerCase() === githubHost.toLowerCase() &&
    !parsed.username &&
    !parsed.password &&
    !parsed.port &&
    (path === repoPath || path.startsWith(`${repoPath}/`))
  );
}

/**
 * A link to a job's result only when it points into the job's own repository
 * on GitHub (`https://<host>/<owner>/<repo>/…`); anything else is shown as
 * inert text, never as labelrun's "Result" link.
 */
export function resultLink(url: string, repositoryFullName: string, githubHost = "github.com"): string {
  if (!isRepositoryUrl(url, repositoryFullName, githubHost))
    return `${neutralize(url, 300)} (not a link: it is not in ${neutralize(repositoryFullName)})`;
  // GitHub shows a URL of the same repository as a reference (`#8`); nothing in it may end the cell.
  return new URL(url).href.replace(/[|<>`\s]/g, encodeURIComponent);
}
