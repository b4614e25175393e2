// Reconnect delays: exponential from `reconnectPeriod`, capped at `reconnectPeriodMax`, with
// "equal jitter" (half fixed, half random) so many clients cut off together do not return together.

export function reconnectDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  if (base <= 0) return 0;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
