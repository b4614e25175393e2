// The least an MQTT server on Node.js does per connection, as a floor for the idle-connections scenario:
// accept, read a CONNECT, answer CONNACK, nothing kept. Run as a child: node bare-server.js PORT
import * as net from 'node:net';

const CONNACK = Buffer.from([0x20, 2, 0, 0]);
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (d) => {
    if (d[0] >> 4 === 1) socket.write(CONNACK);
  });
  socket.on('error', () => undefined);
});
server.listen(Number(process.argv[2]), '127.0.0.1');
