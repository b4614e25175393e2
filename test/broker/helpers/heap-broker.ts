// A broker in a child process of its own for heap measurements (forked with --expose-gc): it prints
// its port, then answers each 'heap' message with its heap use after a full collection.
import { createBroker } from '../../../src/broker';

const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0 });
broker.listen().then(
  () => process.send!({ port: broker.addresses()[0].port }),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('message', (message) => {
  if (message !== 'heap') return;
  (globalThis as { gc?: () => void }).gc!();
  process.send!({ heapUsed: process.memoryUsage().heapUsed });
});
process.on('disconnect', () => {
  void broker.close().then(() => process.exit(0));
});
