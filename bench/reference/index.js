// The benchmark's floor: a Worker that does nothing but forward the request to the upstream and
// hand its body back untouched. Sluice's overhead is measured against this, not against zero.
//
// With `x-bench-relay: js` it moves the body chunk by chunk in JavaScript instead (read, then write
// into an IdentityTransformStream the client reads), still changing nothing. That is the least any
// Worker pays to touch each chunk, so it is the floor of a Worker that must re-encode a stream.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upstream = await fetch(env.UPSTREAM_URL + url.pathname.replace(/^\/v1/, ''), {
      method: request.method,
      headers: { 'content-type': 'application/json' },
      body: request.body,
    });
    if (request.headers.get('x-bench-relay') !== 'js' || !upstream.body)
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
    const { readable, writable } = new IdentityTransformStream();
    ctx.waitUntil(relayInJavaScript(upstream.body, writable));
    return new Response(readable, { status: upstream.status, headers: upstream.headers });
  },
};

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
