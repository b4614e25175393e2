// Two in-memory streams joined back to back: what one writes, the other reads. The bridge hands
// one end to `broker.handle()` and speaks MQTT on the other, a real session without a socket.
import { Duplex } from 'node:stream';

export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {
        // data is pushed by the peer's writes
      },
      write(chunk: Buffer, _encoding, callback) {
        // on the next tick, so a reply is never handled inside the write that caused it
        process.nextTick(() => {
          const p = peer();
          if (!p.destroyed) p.push(chunk);
        });
        callback();
      },
      final(callback) {
        process.nextTick(() => {
          const p = peer();
          if (!p.destroyed) p.push(null);
        });
        callback();
      },
      destroy(err, callback) {
        process.nextTick(() => {
          const p = peer();
          if (!p.destroyed) p.destroy();
        });
        callback(err);
      },
    });
  ends.push(make(() => ends[1]), make(() => ends[0]));
  return [ends[0], ends[1]];
}
