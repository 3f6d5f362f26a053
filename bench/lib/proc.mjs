// Linux /proc readings for the benchmark: CPU time and resident memory of a process tree.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for utime/stime (USER_HZ; 100 on every mainstream Linux build). */
export const CLK_TCK = Number(process.env.CLK_TCK ?? 100);

/** `/proc/<pid>/stat`, or null if the process is gone. */
export function stat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  return { pid, comm, ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) };
}

/** All live descendants of `root` (not root itself). */
export function descendants(root) {
  const byParent = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    if (!byParent.has(s.ppid)) byParent.set(s.ppid, []);
    byParent.get(s.ppid).push(s);
  }
  const out = [];
  const queue = [root];
  while (queue.length) {
    for (const child of byParent.get(queue.shift()) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Seconds of CPU (user + system) used so far by these processes. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const s = stat(pid);
    if (s) ticks += s.utime + s.stime;
  }
  return ticks / CLK_TCK;
}

/** Resident memory (VmRSS) of these processes, in bytes. */
export function rssBytes(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb * 1024;
}
