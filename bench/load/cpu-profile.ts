// Reads a V8 .cpuprofile (from `node --cpu-prof`) and lists the functions with the most self time,
// to say where a broker spends its core. Also runnable: node cpu-profile.js FILE [COUNT].
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** "name file:line" */
  location: string;
  /** Share of the sampled busy (not idle) time, 0..1. */
  share: number;
}

export function topSelfTime(file: string, count: number): SelfTime[] {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byLocation = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? ` ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : '';
    const location = `${frame.functionName || '(anonymous)'}${where}`;
    // Shares of busy time: a broker waiting for the next packet is not a cost.
    if (location === '(idle)') return;
    const micros = profile.timeDeltas[i] ?? 0;
    byLocation.set(location, (byLocation.get(location) ?? 0) + micros);
    total += micros;
  });
  return [...byLocation]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([location, micros]) => ({ location, share: total > 0 ? micros / total : 0 }));
}

if (require.main === module) {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    console.error(`usage: node ${path.basename(__filename)} FILE.cpuprofile [COUNT]`);
    process.exit(2);
  }
  for (const t of topSelfTime(file, Number(count ?? 20))) console.log(`${(t.share * 100).toFixed(1).padStart(5)}%  ${t.location}`);
}
