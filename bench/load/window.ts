// The measurement window shared by the worker scenarios: a warm-up, then a fixed window over which a
// counter and the CPU use of both processes are sampled.
import { cpuMeter } from './proc';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WindowSample {
  count: number;
  seconds: number;
  generatorCpu: number;
  brokerCpu: number;
}

export async function measureWindow(brokerPid: number, warmupMs: number, windowMs: number, counter: () => number): Promise<WindowSample> {
  await sleep(warmupMs);
  const startCount = counter();
  const start = process.hrtime.bigint();
  const meter = cpuMeter(brokerPid);
  await sleep(windowMs);
  const count = counter() - startCount;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { count, seconds, ...meter() };
}

/** A payload of `size` bytes (at least 8, room for a timestamp). */
export function makePayload(size: number): Buffer {
  return Buffer.alloc(Math.max(8, size), 0x61);
}
