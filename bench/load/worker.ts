// A load-generator process. The bench harness forks it, sends one job over IPC and reads one result.
// It uses raw sockets and mqtt-packet only, never this project's client or codec.
import type { Job, ParentMessage, WorkerMessage } from './jobs';
import { runThroughput } from './throughput';
import { runLatency } from './latency';
import { openIdle } from './idle';
import { runRetained } from './retained';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function runIdle(job: Extract<Job, { kind: 'idle' }>): Promise<void> {
  const started = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  const connections = await openIdle(job);
  const wallSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpu = process.cpuUsage(started);
  await send({ type: 'connected', opened: connections.length });
  await new Promise<void>((resolve) => {
    process.on('message', (m: ParentMessage) => {
      if (m.cmd === 'close') resolve();
    });
  });
  const dropped = connections.filter((c) => c.error !== null).length;
  for (const c of connections) c.close();
  await send({ type: 'result', result: { opened: connections.length - dropped, generatorCpu: (cpu.user + cpu.system) / 1e6 / wallSeconds } });
}

async function runJob(job: Job): Promise<void> {
  switch (job.kind) {
    case 'idle':
      return runIdle(job);
    case 'latency':
      return send({ type: 'result', result: await runLatency(job) });
    case 'retained':
      return send({ type: 'result', result: await runRetained(job) });
    default:
      return send({ type: 'result', result: await runThroughput(job) });
  }
}

if (!process.send) {
  console.error('bench worker: start me with child_process.fork');
  process.exit(2);
}
process.once('message', (m: ParentMessage) => {
  if (m.cmd !== 'start') return;
  runJob(m.job).then(
    () => process.exit(0),
    async (err: Error) => {
      await send({ type: 'error', message: err.stack ?? String(err) });
      process.exit(1);
    },
  );
});
void send({ type: 'ready' });
// The harness going away (even killed) must not leave a generator behind.
process.on('disconnect', () => process.exit(0));
