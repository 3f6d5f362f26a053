import { describe, expect, it } from 'vitest';
import { api } from '../support/api';

describe('the browser pages', () => {
  it('the chat page, the dashboard, their stylesheet and scripts, each with its type', async () => {
    for (const [path, type, marker] of [
      ['/', 'text/html', '<title>Sluice · Chat</title>'],
      ['/dashboard', 'text/html', '<title>Sluice · Dashboard</title>'],
      ['/styles.css', 'text/css', 'body'],
      ['/dist/chat.js', 'text/javascript', 'sourceMappingURL=chat.js.map'],
      ['/dist/dashboard.js', 'text/javascript', 'sourceMappingURL=dashboard.js.map'],
      ['/dist/chat.js.map', 'application/json', '"mappings"'],
    ] as const) {
      const res = await api('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain(type);
      expect(await res.text(), path).toContain(marker);
    }
  });

  it('a browser that has a page revalidates it with its ETag and gets a 304 without a body', async () => {
    const first = await api('GET', '/dashboard');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await api('GET', '/dashboard', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect((await api('GET', '/dashboard', { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
  });

  it('sources, other paths and other methods get the API 404', async () => {
    for (const [method, path] of [
      ['GET', '/src/chat.ts'],
      ['GET', '/index.html'],
      ['GET', '/dist/missing.js'],
      ['POST', '/'],
    ] as const) {
      const res = await api(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    }
  });
});
