// The benchmark's D1 host (D1=apart): a Worker in a workerd process of its own that owns the local D1
// database. Sluice's `DB` binding sends its requests here over plain HTTP (see bench/host.mjs), and
// this Worker hands each one, untouched, to its own binding's fetcher: the local D1 simulator. SQLite
// and the simulator then run on another thread than the Worker's, as D1 does in production.
export default {
  fetch(request, env) {
    return env.DB.fetcher.fetch(request);
  },
};
