// Reading a process's memory and CPU time from /proc (Linux), for brokers we do not instrument.
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; USER_HZ is 100 on Linux. */
const TICKS_PER_SECOND = 100;

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), or NaN when unreadable. */
export function residentBytes(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds the process (all its threads) used so far, or NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** CPU shares of this process and of `pid` between start() and the returned function's call. */
export function cpuMeter(pid: number): () => { generatorCpu: number; brokerCpu: number } {
  const wallStart = process.hrtime.bigint();
  const ownStart = process.cpuUsage();
  const brokerStart = cpuSeconds(pid);
  return () => {
    const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
    const own = process.cpuUsage(ownStart);
    return {
      generatorCpu: (own.user + own.system) / 1e6 / wallSeconds,
      // /proc counts in 10 ms ticks: too coarse for a shorter window.
      brokerCpu: wallSeconds >= 0.5 ? (cpuSeconds(pid) - brokerStart) / wallSeconds : NaN,
    };
  };
}
