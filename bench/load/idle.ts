// Idle connections: open many MQTT sessions (TCP + CONNECT + CONNACK), hold them until told to close.
import type { IdleJob } from './jobs';
import { LoadConnection, openMany } from './load-connection';

export async function openIdle(job: IdleJob): Promise<LoadConnection[]> {
  return openMany(job.connections, job.concurrency, (i) =>
    LoadConnection.open({ port: job.port, clientId: `${job.clientIdPrefix}${i}`, keepalive: 0, timeoutMs: 30_000 }),
  );
}
