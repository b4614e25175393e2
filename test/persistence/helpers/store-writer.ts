// Child process for the kill -9 test of the store alone: opens a DiskStore on the directory given
// and writes without end; every write whose promise resolved is reported on stdout before the next
// one starts ("q <client> <epoch> <seq>", "c <client> <epoch>", "r <seq>", "put <id>", "del <id>").
// Each line is written with a blocking write before the next change is made. Queues are cleared
// every QUEUE_EPOCH messages (a new epoch), so the store stays small and compacts often.
import * as fs from 'node:fs';
import { DiskStore, type FsyncMode } from '../../../src/persistence';

export function payloadFor(client: string, epoch: number, seq: number): Buffer {
  const b = Buffer.alloc(24 + (seq % 40));
  b.write(client, 0, 'latin1');
  b.writeUInt16BE(epoch, 14);
  b.writeUInt32BE(seq, 16);
  for (let i = 20; i < b.length; i++) b[i] = (seq * 31 + i) & 0xff; // every byte value turns up
  return b;
}

export const IN_FLIGHT_WINDOW = 8;
export const QUEUE_EPOCH = 200;
export const WRITER_CLIENTS = Array.from({ length: 12 }, (_, i) => `w${i}`);

/**
 * Straight to fd 1 with a blocking write: process.stdout may hold lines in the process when the
 * pipe is full, and a SIGKILL would lose lines of writes that did resolve.
 */
function writeLine(line: string): void {
  const bytes = Buffer.from(line);
  for (let done = 0; done < bytes.length; ) {
    try {
      done += fs.writeSync(1, bytes, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

async function main(): Promise<void> {
  const [directory, compactEvery, firstEpoch, fsync] = process.argv.slice(2);
  const store = await DiskStore.open({ directory, compactEvery: Number(compactEvery), fsync: fsync as FsyncMode, logger: { warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) } });
  const out = (line: string): void => writeLine(`${line}\n`);

  const queues = WRITER_CLIENTS.map(async (client) => {
    for (let epoch = Number(firstEpoch); ; epoch++) {
      await store.clearQueued(client);
      out(`c ${client} ${epoch}`);
      for (let seq = 0; seq < QUEUE_EPOCH; seq++) {
        await store.enqueue(client, { message: { topic: `q/${client}`, payload: payloadFor(client, epoch, seq), qos: 1, retain: false }, qos: 1 });
        out(`q ${client} ${epoch} ${seq}`);
      }
    }
  });
  const retained = (async () => {
    const last = await store.getRetained('r/counter');
    let seq = last === undefined ? 0 : last.payload.readUInt32BE(0) + 1;
    for (;;) {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(seq, 0);
      await store.storeRetained({ topic: 'r/counter', payload, qos: 1, retain: true });
      out(`r ${seq}`);
      seq++;
    }
  })();
  const inflight = (async () => {
    // a window of in-flight entries: put(id) is acknowledged, then remove(id - IN_FLIGHT_WINDOW)
    const existing = await store.getInflight('inflight');
    let id = existing.reduce((max, e) => Math.max(max, e.packetId), 0) + 1;
    for (;;) {
      await store.putInflight('inflight', { packetId: id, state: 'publish', qos: 2, message: { topic: 'i', payload: payloadFor('inflight', 0, id), qos: 2, retain: false } });
      out(`put ${id}`);
      if (id > IN_FLIGHT_WINDOW) {
        await store.removeInflight('inflight', id - IN_FLIGHT_WINDOW);
        out(`del ${id - IN_FLIGHT_WINDOW}`);
      }
      id++;
    }
  })();
  out('ready');
  await Promise.all([...queues, retained, inflight]);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
