/**
 * CPU time of a process's main thread, for benchmarks that weigh the event
 * loop's own work: utime + stime of /proc/<pid>/task/<pid>/stat (fields 14
 * and 15, in clock ticks of 10 ms). The process's own CPU time would count
 * its worker, thread-pool and collector threads too.
 */
import { readFileSync } from 'node:fs';

export function mainThreadCpuMs(pid: number = process.pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
