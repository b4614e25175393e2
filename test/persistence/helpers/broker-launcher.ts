// Child process for the kill -9 test of the broker: a broker on 127.0.0.1 (a free port) with a
// DiskStore on the directory given (and the port given, 0 = any). Prints "listening <port>" once
// it accepts connections.
import { createBroker } from '../../../src/broker';
import { DiskStore } from '../../../src/persistence';

async function main(): Promise<void> {
  const [directory, port] = process.argv.slice(2);
  const logger = { warn: (m: string) => process.stderr.write(`${m}\n`), error: (m: string) => process.stderr.write(`${m}\n`) };
  const store = await DiskStore.open({ directory, logger, compactEvery: 256 * 1024 });
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: Number(port ?? 0) }], sysInterval: 0, store, logger, maxQueuedMessages: 100_000 });
  await broker.listen();
  process.stdout.write(`listening ${broker.addresses()[0].port}\n`);
  const stop = (): void => {
    void broker.close().then(() => store.close()).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
