// The benchmark's floor: a Worker that does nothing but forward the request to the upstream and
// hand its body back untouched. Sluice's overhead is measured against this, not against zero.
//
// With `x-bench-relay: js` it moves the body chunk by chunk in JavaScript instead (read, then write
// into an IdentityTransformStream the client reads), still changing nothing. That is the least any
// Worker pays to touch each chunk, so it is the floor of a Worker that must re-encode a stream.
//
// With `x-bench-work: N` it also does N fixed units of CPU work per call, once the upstream has
// answered and while its stream is under way, the way a gateway's per-call work (admission, books)
// runs while other calls stream. The concurrency phases use it to show how the delay at the first
// concurrency level grows with per-call CPU alone. A unit is a JSON round trip of a small chat request:
// built-in work the compiler cannot drop, so it costs about the same from call to call.
const WORK_UNIT = {
  model: 'bench',
  messages: Array.from({ length: 8 }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: `${i} ${'x'.repeat(96)}`,
  })),
};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upstream = await fetch(env.UPSTREAM_URL + url.pathname.replace(/^\/v1/, ''), {
      method: request.method,
      headers: { 'content-type': 'application/json' },
      body: request.body,
    });
    const units = Number(request.headers.get('x-bench-work') ?? 0);
    if (units > 0) work(units);
    if (request.headers.get('x-bench-relay') !== 'js' || !upstream.body)
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
    const { readable, writable } = new IdentityTransformStream();
    ctx.waitUntil(relayInJavaScript(upstream.body, writable));
    return new Response(readable, { status: upstream.status, headers: upstream.headers });
  },
};

function work(units) {
  for (let i = 0; i < units; i++) JSON.parse(JSON.stringify(WORK_UNIT));
}

async function relayInJavaScript(body, writable) {
  const reader = body.getReader();
  const writer = writable.getWriter();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await writer.write(value); // resolves once the client has taken it: back-pressure
    }
    await writer.close();
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    await writer.abort(err).catch(() => {});
  }
}
