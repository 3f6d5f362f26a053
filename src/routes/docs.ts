/**
 * `/openapi.json` (generated from the routes' zod schemas) and `/docs`, a page rendered here
 * from that document: no CDN, no script, so it works offline and under a strict CSP.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/context';

type App = OpenAPIHono<AppEnv>;
type Doc = ReturnType<App['getOpenAPI31Document']>;

const DOC_CONFIG = {
  openapi: '3.1.0',
  info: {
    title: 'Sluice',
    version: '0.1.0',
    description:
      'A metered LLM streaming gateway. Team routes take `Authorization: Bearer <virtual key>`; ' +
      'operator routes under /admin take `X-Admin-Key`. Errors have the OpenAI shape ' +
      '`{"error":{"message","type","code","param"}}`.',
  },
};

/** Registers the security schemes the routes name, then serves the document and the page. */
export function registerDocs(app: App) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A virtual key, `sk-sluice-…`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'streamToken', {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      "A resumable call's stream token (`x-sluice-stream-url`), for that call's stream only, until it expires",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Admin-Key',
    description: 'The operator key (`ADMIN_API_KEY`)',
  });

  let cached: { doc: Doc; html: string } | null = null;
  // Every route is registered by the time the first request arrives, so one build serves them all.
  const build = () => {
    if (!cached) {
      const doc = app.getOpenAPI31Document(DOC_CONFIG);
      cached = { doc, html: renderDocs(doc) };
    }
    return cached;
  };

  app.get('/openapi.json', (c) => c.json(build().doc));
  app.get('/docs', (c) =>
    c.html(build().html, 200, {
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    }),
  );
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

interface SchemaLike {
  $ref?: string;
  type?: string | string[];
  items?: SchemaLike;
  enum?: unknown[];
  anyOf?: SchemaLike[];
  oneOf?: SchemaLike[];
  format?: string;
  properties?: Record<string, SchemaLike>;
  required?: string[];
  description?: string;
  additionalProperties?: unknown;
}

/** A short human name for a schema: `Team`, `Team[]`, `string (date-time)`, `"a" | "b"`. */
function typeName(s: SchemaLike | undefined): string {
  if (!s) return '';
  if (s.$ref) {
    const name = s.$ref.split('/').pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (s.enum) return s.enum.map((v) => esc(JSON.stringify(v))).join(' | ');
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeName).join(' | ');
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (type === 'array') return `${typeName(s.items)}[]`;
  if (type === 'object' && !s.properties) return 'object';
  return esc(type ?? 'any') + (s.format ? ` (${esc(s.format)})` : '');
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  tags?: string[];
  summary?: string;
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: SchemaLike; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: SchemaLike }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: SchemaLike }> }>;
}

function renderOperation(method: string, path: string, op: Operation): string {
  const auth = (op.security ?? []).flatMap((s) => Object.keys(s)).join(', ');
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${typeName(p.schema)}</td>` +
        `<td>${p.required ? 'required' : ''}</td><td>${esc(p.description ?? p.schema?.description)}</td></tr>`,
    )
    .join('');
  const body = Object.entries(op.requestBody?.content ?? {})
    .map(([type, c]) => `${typeName(c.schema)} <small>${esc(type)}</small>`)
    .join('<br>');
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const content = Object.entries(r.content ?? {})
        .map(([type, c]) => `${typeName(c.schema)} <small>${esc(type)}</small>`)
        .join(', ');
      return `<li><b>${esc(status)}</b> ${esc(r.description)}${content ? ` — ${content}` : ''}</li>`;
    })
    .join('');
  return `<section class="op">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>
${auth ? `<p class="auth">Auth: ${esc(auth)}</p>` : ''}
${params ? `<table><tr><th>parameter</th><th>in</th><th>type</th><th></th><th></th></tr>${params}</table>` : ''}
${body ? `<p>Request body: ${body}</p>` : ''}
<ul>${responses}</ul>
</section>`;
}

function renderSchema(name: string, s: SchemaLike): string {
  const required = new Set(s.required ?? []);
  const rows = Object.entries(s.properties ?? {})
    .map(
      ([prop, p]) =>
        `<tr><td><code>${esc(prop)}</code></td><td>${typeName(p)}</td>` +
        `<td>${required.has(prop) ? 'required' : ''}</td><td>${esc(p.description)}</td></tr>`,
    )
    .join('');
  return `<section class="schema" id="schema-${esc(name)}"><h3>${esc(name)}</h3>
${s.description ? `<p>${esc(s.description)}</p>` : ''}
${rows ? `<table>${rows}</table>` : `<p>${typeName({ ...s, $ref: undefined })}</p>`}</section>`;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** The whole page: operations grouped by tag, then every named schema. */
export function renderDocs(doc: Doc): string {
  const groups = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'Other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push(renderOperation(method, path, op));
    }
  }
  const tags = [...groups.keys()];
  const schemas = Object.entries((doc.components?.schemas ?? {}) as Record<string, SchemaLike>).sort(([a], [b]) =>
    a.localeCompare(b),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code{font:13px ui-monospace,monospace}h2{border-bottom:1px solid #ddd;margin-top:2.5rem}
.op,.schema{border:1px solid #e3e3e3;border-radius:6px;padding:.25rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:2px 4px}
.get{background:#2b7bb9}.post{background:#2f9e44}.patch{background:#c77c02}.delete{background:#c92a2a}.put{background:#7048e8}
table{border-collapse:collapse;font-size:14px}td,th{border-bottom:1px solid #eee;padding:2px 10px 2px 0;text-align:left}
.auth{color:#666;font-size:13px}small{color:#888}
</style></head><body>
<h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<nav><ul>${tags.map((t) => `<li><a href="#tag-${slug(t)}">${esc(t)}</a></li>`).join('')}<li><a href="#schemas">Schemas</a></li></ul></nav>
${tags.map((t) => `<h2 id="tag-${slug(t)}">${esc(t)}</h2>${groups.get(t)!.join('\n')}`).join('\n')}
<h2 id="schemas">Schemas</h2>
${schemas.map(([n, s]) => renderSchema(n, s)).join('\n')}
</body></html>`;
}
