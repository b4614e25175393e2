// Aedes as a standalone broker process for the bench: `node aedes-broker.js PORT`.
// TCP_NODELAY on, as for the other brokers under test.
import * as net from 'node:net';
import { Aedes } from 'aedes';

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: aedes-broker PORT');
  const aedes = await Aedes.createBroker();
  const server = net.createServer({ noDelay: true }, aedes.handle);
  server.listen(port, '127.0.0.1');
  const shutdown = (): void => {
    server.close();
    aedes.close(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
