// The idle-connections scenario against a bare Node.js server (bench/load/bare-server.ts), our broker and
// Aedes, alternating, in the broker bench's own harness: how far our connect rate and RSS per connection
// are from what Node's socket layer allows on this machine. Not part of `npm run bench`; run it alone:
//   node dist/bench/connect-floor.js [connections=10000] [rounds=3]
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort, waitForPort } from '../test/helpers/net';
import { type BrokerProcess, startBroker } from './load/brokers';
import { stopChild, track } from './load/children';
import { measureIdle } from './load/harness';
import { residentBytes } from './load/proc';

async function startBare(): Promise<BrokerProcess> {
  const port = await freePort();
  const child = track(spawn(process.execPath, [path.join(__dirname, 'load', 'bare-server.js'), String(port)], { stdio: 'ignore' }));
  await waitForPort(port, '127.0.0.1', 10_000);
  return { kind: 'mqtt-hub', dir: null, port, pid: child.pid!, residentBytes: () => residentBytes(child.pid!), output: () => '', stop: () => stopChild(child) };
}

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? 10_000);
  const rounds = Number(process.argv[3] ?? 3);
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['bare Node.js', 'mqtt-hub', 'aedes'] as const) {
      const broker = kind === 'bare Node.js' ? await startBare() : await startBroker(kind, await freePort());
      try {
        const r = await measureIdle(broker, connections, 2, 1000);
        console.log(
          `round ${round} ${kind}: ${Math.round(r.connectsPerSecond)} connects/s, ${Math.round(r.bytesPerConnection)} RSS bytes/conn 1 s after, ` +
            `broker CPU ${Math.round(r.brokerCpu * 100)}%, generator CPU ${Math.round(r.generatorCpu * 100)}%`,
        );
      } finally {
        await broker.stop();
      }
    }
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exitCode = 1;
});
