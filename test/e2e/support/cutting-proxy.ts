/**
 * A pass-through HTTP proxy on 127.0.0.1 that breaks one connection on purpose: the first
 * response whose path matches `cut` is destroyed after `afterEvents` numbered SSE events, as a
 * dropped network would, and every later request goes through whole. The browser sees the
 * proxy as the gateway's origin, so a page loaded from it opens same-origin streams.
 */
import { type IncomingHttpHeaders, createServer, request } from 'node:http';

export interface CuttingProxy {
  base: string;
  /** Each request that reached the proxy, in order, with the `Last-Event-ID` it carried. */
  requests: { path: string; lastEventId: string | undefined; cut: boolean }[];
  close(): Promise<void>;
}

export async function startCuttingProxy(
  target: string,
  opts: {
    cut: RegExp;
    afterEvents: number;
    /**
     * A `retry:` (ms) written ahead of the broken response: the browser reconnects after it
     * rather than after its own default (3 s in Chromium), so it comes back while the answer
     * is still streaming and the test is not held up.
     */
    retryMs?: number;
  },
): Promise<CuttingProxy> {
  const to = new URL(target);
  const requests: CuttingProxy['requests'] = [];
  let cutDone = false;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const cut = !cutDone && opts.cut.test(path);
    if (cut) cutDone = true;
    const lastEventId = req.headers['last-event-id'];
    requests.push({ path, lastEventId: Array.isArray(lastEventId) ? lastEventId[0] : lastEventId, cut });
    const headers: IncomingHttpHeaders = { ...req.headers, host: to.host };
    /** The cut is under way: the upstream ends on purpose, and the response only after a pause. */
    let broken = false;
    const upstream = request({ host: to.hostname, port: to.port, path, method: req.method, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (!cut || upRes.statusCode !== 200) return void upRes.pipe(res);
      if (opts.retryMs !== undefined) res.write(`retry: ${opts.retryMs}\n\n`);
      // Whole events only, so the cut falls between two events, never inside one.
      let pending = '';
      let events = 0;
      upRes.setEncoding('utf8');
      upRes.on('data', (text: string) => {
        pending += text;
        for (let end = pending.indexOf('\n\n'); end >= 0 && !broken; end = pending.indexOf('\n\n')) {
          const block = pending.slice(0, end + 2);
          pending = pending.slice(end + 2);
          if (!/^id: \d+$/m.test(block)) {
            res.write(block);
            continue;
          }
          events++;
          if (events < opts.afterEvents) {
            res.write(block);
            continue;
          }
          // The last event is written and given time to be handled before the connection
          // goes: a browser may drop bytes it had not read yet when it sees the connection fail.
          broken = true;
          upRes.destroy();
          res.write(block, () => setTimeout(() => res.destroy(), 200));
        }
      });
      upRes.on('end', () => void (broken || res.end(pending)));
    });
    upstream.on('error', () => void (broken || res.destroy()));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
