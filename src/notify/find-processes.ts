// Finds processes by name through /proc, for signalling the app when the pod shares
// its process namespace (`shareProcessNamespace: true`). A process matches when its
// comm (the kernel's 15-character name) or the basename of its argv[0] equals `name`.

import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';

export async function findProcesses(name: string, procRoot = '/proc'): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir(procRoot).catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const [comm, cmdline] = await Promise.all([
      readFile(`${procRoot}/${entry}/comm`, 'utf8').catch(() => ''),
      readFile(`${procRoot}/${entry}/cmdline`, 'utf8').catch(() => ''),
    ]);
    const argv0 = cmdline.split('\0')[0] ?? '';
    if (comm.trim() === name.slice(0, 15) && (name.length <= 15 || basename(argv0) === name)) pids.push(pid);
    else if (argv0 !== '' && basename(argv0) === name) pids.push(pid);
  }
  return pids;
}
