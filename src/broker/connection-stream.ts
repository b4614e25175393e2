// The stream events of a connection. The listeners are shared functions that find their connection
// on the stream, so a connection costs no closures.
import type { Duplex } from 'node:stream';
import type { Connection } from './connection';

const CONNECTION = Symbol('mqtt-hub connection');

interface ConnectionStream extends Duplex {
  [CONNECTION]: Connection;
}

export function listenTo(stream: Duplex, connection: Connection): void {
  (stream as ConnectionStream)[CONNECTION] = connection;
  stream.on('data', onStreamData);
  stream.on('error', onStreamError);
  stream.on('close', onStreamClose);
  stream.on('end', onStreamEnd);
}

function onStreamData(this: Duplex, chunk: Buffer): void {
  (this as ConnectionStream)[CONNECTION].onData(chunk);
}

// Streams that do not destroy themselves (a WebSocket stream) are destroyed here once the peer is
// gone, so 'close' always follows.
function onStreamError(this: Duplex, err: Error): void {
  const connection = (this as ConnectionStream)[CONNECTION];
  connection.core.log.debug(`client ${connection.label()} socket error: ${err.message}`);
  connection.close('socket-error');
  this.destroy();
}

function onStreamClose(this: Duplex): void {
  (this as ConnectionStream)[CONNECTION].close('closed');
}

function onStreamEnd(this: Duplex): void {
  (this as ConnectionStream)[CONNECTION].close('closed');
  this.destroy();
}
