/** deploy/haproxy.cfg made fit for a test (see test/hub-haproxy.test.ts). */

/**
 * deploy/haproxy.cfg for this test: the frontend bound to `front`, one `server` line per backend
 * port (in the order given), the stats socket at `stats`, and no user, group or chroot.
 */
export function renderHaproxyConfig(template: string, front: number, servers: readonly number[], stats: string): string {
  const out: string[] = [];
  let serversWritten = false;
  for (const line of template.split('\n')) {
    const indent = /^\s*/.exec(line)?.[0] ?? '';
    const t = line.trim();
    if (/^(user|group|chroot)\s/.test(t)) continue;
    if (/^stats socket\s/.test(t)) out.push(`${indent}stats socket ${stats} mode 600 level admin`);
    else if (/^bind\s/.test(t)) out.push(`${indent}bind 127.0.0.1:${front}`);
    else if (/^server\s/.test(t)) {
      if (!serversWritten) servers.forEach((port, i) => out.push(`${indent}server hub${i + 1} 127.0.0.1:${port} check`));
      serversWritten = true;
    } else out.push(line);
  }
  if (!serversWritten) throw new Error('deploy/haproxy.cfg has no server lines');
  return out.join('\n');
}
