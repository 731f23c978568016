import { escapeHtml } from '../../lib/html';

/**
 * A readable, self-contained page for the OpenAPI document (no scripts from elsewhere, so it
 * works on a closed network): every operation with its parameters, body and responses.
 */
type Json = Record<string, unknown>;

function schemaName(schema: unknown): string {
  if (!schema || typeof schema !== 'object') return '';
  const s = schema as Json;
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop() ?? '';
  if (s.type === 'array') return `${schemaName(s.items)}[]`;
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return typeof s.type === 'string' ? s.type : 'object';
}

export function renderDocsPage(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const sections: string[] = [];
  for (const [p, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = ((op.parameters ?? []) as Json[])
        .map((param) => {
          const resolved = typeof param.$ref === 'string' ? (((doc.components as Json)?.parameters as Json)?.[param.$ref.split('/').pop() as string] as Json) : param;
          return `<li><code>${escapeHtml(String(resolved?.name ?? ''))}</code> (${escapeHtml(String(resolved?.in ?? ''))}) ${escapeHtml(String(resolved?.description ?? ''))}</li>`;
        })
        .join('');
      const bodyContent = ((op.requestBody as Json | undefined)?.content ?? {}) as Record<string, Json>;
      const body = Object.entries(bodyContent)
        .map(([type, c]) => `<li><code>${escapeHtml(type)}</code> ${escapeHtml(schemaName(c.schema))}</li>`)
        .join('');
      const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
        .map(([status, r]) => {
          const content = (r.content ?? {}) as Record<string, Json>;
          const shape = Object.values(content).map((c) => schemaName(c.schema)).join(', ');
          return `<li><strong>${escapeHtml(status)}</strong> ${escapeHtml(String(r.description ?? ''))} ${shape ? `<code>${escapeHtml(shape)}</code>` : ''}</li>`;
        })
        .join('');
      sections.push(`<section><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(p)}</code></h3>
<p>${escapeHtml(String(op.summary ?? ''))}</p>${op.description ? `<p class="d">${escapeHtml(String(op.description))}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${body ? `<h4>Body</h4><ul>${body}</ul>` : ''}<h4>Responses</h4><ul>${responses}</ul></section>`);
    }
  }
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(String(info.title ?? 'API'))}</title>
<style>body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;line-height:1.45}section{border-top:1px solid #ddd;padding:.5rem 0}
.m{display:inline-block;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .3rem}.get{background:#2b6cb0}.post{background:#2f855a}.delete{background:#c53030}.put,.patch{background:#b7791f}.d{color:#444;white-space:pre-line}</style></head>
<body><h1>${escapeHtml(String(info.title ?? ''))} <small>${escapeHtml(String(info.version ?? ''))}</small></h1>
<p class="d">${escapeHtml(String(info.description ?? ''))}</p><p>Machine-readable contract: <a href="/openapi.yaml">/openapi.yaml</a></p>
${sections.join('\n')}</body></html>`;
}
