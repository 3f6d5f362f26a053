// The benchmark's floor: a Worker that does nothing but forward the request to the upstream and
// hand its body back untouched. Sluice's overhead is measured against this, not against zero.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const upstream = await fetch(env.UPSTREAM_URL + url.pathname.replace(/^\/v1/, ''), {
      method: request.method,
      headers: { 'content-type': 'application/json' },
      body: request.body,
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
};
