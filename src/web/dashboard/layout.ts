import type { ServerResponse } from "node:http";
import { htmlSecurityHeaders } from "../security-headers.js";
import { Html, html } from "./html.js";

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1c2024;--muted:#5d6670;--card:#fff;--line:#d9dde3;--accent:#5319e7;
--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--info:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--card:#161b22;--line:#30363d;--accent:#a371f7;
--ok:#3fb950;--bad:#f85149;--warn:#d29922;--info:#58a6ff}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--info)}header{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line);flex-wrap:wrap}
.signout{margin-left:auto}
header h1{font-size:1rem;margin:0}header nav{display:flex;gap:.8rem}main{padding:1rem}
form.filters{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:1rem}
input,select,button{font:inherit;padding:.3rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg)}
button{cursor:pointer}button.danger{border-color:var(--bad);color:var(--bad)}
.board{display:grid;grid-template-columns:repeat(4,minmax(14rem,1fr));gap:.8rem;align-items:start}
.board-5{grid-template-columns:repeat(5,minmax(12rem,1fr))}
@media (max-width:900px){.board{grid-template-columns:1fr 1fr}}@media (max-width:560px){.board{grid-template-columns:1fr}}
.column h2{font-size:.85rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:.2rem 0 .5rem}
.card{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--line);border-radius:8px;padding:.5rem .6rem;margin-bottom:.5rem}
.card .title{font-weight:600;display:block;margin:.1rem 0}.card small{color:var(--muted);display:block}
.s-running{border-left-color:var(--info)}.s-completed{border-left-color:var(--ok)}.s-failed,.s-abandoned{border-left-color:var(--bad)}
.s-deferred,.s-pending{border-left-color:var(--warn)}.s-queued{border-left-color:var(--accent)}
.warning{border:2px solid var(--bad);border-radius:8px;padding:.5rem .7rem;color:var(--bad);background:var(--card)}
.bar{height:6px;background:var(--line);border-radius:3px;overflow:hidden;margin:.3rem 0}.bar>span{display:block;height:100%;background:var(--info)}
table{border-collapse:collapse;width:100%;background:var(--card)}td,th{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
pre.log{background:#0d1117;color:#e6edf3;padding:.6rem;border-radius:8px;overflow:auto;max-height:60vh;font-size:12px}
.stderr{color:#ff9b93}.system{color:#d2a8ff}.muted{color:var(--muted)}.badge{font-weight:600}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem;margin:.6rem 0}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.5rem .7rem}.tile small{display:block;color:var(--muted)}.tile b{font-size:1.3rem}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;margin:1rem 0;align-items:start}@media (max-width:900px){.pair{grid-template-columns:1fr}}
.chart{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.5rem}.chart figcaption{font-weight:600;margin-bottom:.3rem}
.chart>svg{width:100%;height:auto;display:block}.swatch{width:10px;height:10px;vertical-align:middle}.legend{font-weight:400;color:var(--muted);margin-left:.6rem;font-size:12px}
table.figures{font-size:12px;display:block;max-height:18rem;overflow:auto}.windows{margin-bottom:.6rem}
.axis{font-size:11px;fill:var(--muted)}.grid{stroke:var(--line)}.bar-ok{fill:var(--ok)}.bar-bad{fill:var(--bad)}.bar-worse{fill:#8b1a1a}
.bar-muted{fill:var(--muted)}.bar-main{fill:var(--info)}
.layout{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1rem}@media (max-width:900px){.layout{grid-template-columns:1fr}}
`;

/** The page frame: header, styles, and the CSRF token for the page's own requests. */
export function page(
  res: ServerResponse,
  params: {
    title: string;
    csrf: string;
    body: Html;
    status?: number /** Another origin forms may post to. */;
    formAction?: string;
    /** The person signed in with GitHub, shown in the header. */
    who?: string;
  },
): void {
  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${params.csrf}"><title>${params.title} — labelrun</title>
<style>${new Html(STYLE)}</style></head>
<body><header><h1>labelrun</h1><nav><a href="/jobs">Board</a><a href="/jobs/history">History</a><a href="/insights">Insights</a></nav>
${params.csrf ? html`<form method="post" action="/logout" class="signout">${params.who ? html`<span class="muted" id="who">@${params.who}</span> ` : ""}<button type="submit">Sign out</button></form>` : ""}</header>
<main>${params.body}</main></body></html>`;
  res.writeHead(params.status ?? 200, htmlSecurityHeaders(params.formAction));
  res.end(doc.value);
}
