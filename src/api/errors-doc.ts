/**
 * The errors page the server serves at `/v1/errors`, where every problem's `type` points
 * (`/v1/errors#<code>`): built from docs/errors.md, the page a test keeps in step with the code
 * registry, so the two cannot say different things.
 */
import { readFileSync } from 'node:fs';

export interface ErrorEntry {
  code: string;
  status: number;
  title: string;
  fix: string;
}

/** docs/errors.md of the installed package (dist/src/api/ -> the package root). */
const docFile = new URL('../../../docs/errors.md', import.meta.url);

let cached: ErrorEntry[] | undefined;

/** The rows of docs/errors.md's table: `| \`code\` | status | meaning | what to do |`. */
export function errorEntries(): ErrorEntry[] {
  if (cached) return cached;
  const text = readFileSync(docFile, 'utf8');
  cached = [...text.matchAll(/^\| `([a-z-]+)` \| (\d{3}) \| (.*?) \| (.*) \|$/gm)].map((m) => ({ code: m[1]!, status: Number(m[2]), title: m[3]!, fix: m[4]! }));
  return cached;
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The little Markdown the table uses: `code` spans; links keep their text. */
function inline(md: string): string {
  return escape(md.replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A self-contained page: one row per code, each with the code as its id (the `type` fragment). */
export function errorsPage(entries: ErrorEntry[]): string {
  const rows = entries.map((e) => `<tr id="${e.code}"><td><a href="#${e.code}"><code>${e.code}</code></a></td><td>${e.status}</td><td>${inline(e.title)}</td><td>${inline(e.fix)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Ferry error codes</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Ferry error codes</h1>
<p>Every error answer is <code>application/problem+json</code> (RFC 9457) with a stable <code>code</code>; its <code>type</code> links to the code's row here. <code>ferry errors CODE</code> prints a row.</p>
<table>
<thead><tr><th scope="col">code</th><th scope="col">status</th><th scope="col">meaning</th><th scope="col">what to do</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}
