// Per-process counters the mesh bench reads from the kernel, so nothing inside the companions is
// touched. Bytes: `ss` (netlink sock_diag) gives every established TCP socket its owning process
// and tcp_info bytes_sent (payload bytes, so Noise, ws framing and frame JSON count; TCP/IP
// headers do not); only mesh sockets are summed, so SQLite, log and app-link writes are left out
// (/proc/<pid>/io would count them). CPU: utime + stime from /proc/<pid>/stat.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOCKET_LINE = /^\s*\d+\s+\d+\s+\S+:(\d+)\s+\S+:(\d+)\s+users:\(\("[^"]*",pid=(\d+),/;
const BYTES_SENT = /\bbytes_sent:(\d+)/;

export interface SocketBytes {
  bytes: number;
  /** "localPort>remotePort" of each counted socket: a link that reconnected mid-batch shows here. */
  sockets: Set<string>;
}

/**
 * Bytes sent so far, per process, summed over its established sockets whose local or remote port
 * is one of `meshPorts` (accepted links listen there, dialled links go there).
 */
export async function meshBytesSent(pids: readonly number[], meshPorts: readonly number[]): Promise<Map<number, SocketBytes>> {
  const { stdout } = await run('ss', ['-tinpOH', 'state', 'established'], { maxBuffer: 64 << 20 });
  const ports = new Set(meshPorts);
  const sent = new Map(pids.map((pid): [number, SocketBytes] => [pid, { bytes: 0, sockets: new Set() }]));
  for (const line of stdout.split('\n')) {
    const socket = SOCKET_LINE.exec(line);
    if (!socket) continue;
    const [, local, remote, pid] = socket.map(Number) as [number, number, number, number];
    const counted = sent.get(pid);
    if (!counted || !(ports.has(local) || ports.has(remote))) continue;
    // A socket that has not sent anything yet has no bytes_sent field.
    counted.bytes += Number(BYTES_SENT.exec(line)?.[1] ?? 0);
    counted.sockets.add(`${local}>${remote}`);
  }
  return sent;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time (ms, user + system) each process has used so far. */
export function cpuMs(pids: readonly number[]): number[] {
  return pids.map((pid) => {
    // The command name (field 2) may hold spaces; the fields after its ')' are space-separated.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  });
}
