// The CLI broker's log lines in Mosquitto's words and in its order: "New connection from H:P on port
// N." as a listener accepts, "New client connected ..." (and with -v its will lines) before "Sending
// CONNACK", the packets in and out with -v, and why a client left. The broker logs none of these itself
// (BrokerLogger.clientEvents false), so nothing is said twice. CONNECT has no line of its own, as in
// Mosquitto: "New client connected" tells what it held.
import type { Broker, ClientInfo } from '../broker';
import type { ConnectPacket, Packet } from '../codec/types';
import { formatClientConnected, formatClientDisconnected, formatPacketIn, formatPacketOut } from '../broker/packet-log';

export interface BrokerLogState {
  /** `connection_messages`: clients coming and going are logged (reloaded on SIGHUP). */
  connectionMessages: boolean;
}

export function attachBrokerLog(broker: Broker, log: (line: string) => void, verbose: boolean, state: BrokerLogState): void {
  broker.on('connectionOpened', (c) => {
    if (state.connectionMessages && c.listenerPort !== undefined) log(`New connection from ${c.address}:${c.port} on port ${c.listenerPort}.`);
  });

  // A successful CONNACK is written before `clientConnected` is emitted (in the same call): its line
  // waits for the client's "New client connected" lines, as Mosquitto logs them before it sends.
  const heldConnack = new Map<string, string[]>();
  const flushConnack = (id: string): void => {
    const lines = heldConnack.get(id);
    if (lines === undefined) return;
    heldConnack.delete(id);
    for (const line of lines) log(line);
  };

  // With -v the CONNECT itself is at hand (clean flag, will): it is kept from packetIn until
  // clientConnected names the client. A client with an empty (server-assigned) identifier is matched
  // with the oldest pending empty-id CONNECT. Without -v, packetIn is not listened to (it costs per
  // packet) and the line is made from what clientConnected reports.
  const pending = new Map<string, ConnectPacket[]>();
  if (verbose) {
    broker.on('packetIn', (packet: Packet, clientId: string | undefined) => {
      if (packet.type === 'connect') {
        if (pending.size > 10_000) pending.clear(); // refused CONNECTs never reach clientConnected
        const list = pending.get(packet.clientId) ?? [];
        list.push(packet);
        pending.set(packet.clientId, list);
        return;
      }
      for (const line of formatPacketIn(clientId ?? '<unknown>', packet)) log(line);
    });
    broker.on('packetOut', (packet: Packet, clientId: string | undefined) => {
      const id = clientId ?? '<unknown>';
      const lines = formatPacketOut(id, packet);
      if (packet.type === 'connack' && packet.reasonCode === 0) {
        heldConnack.set(id, lines);
        queueMicrotask(() => flushConnack(id)); // the connection closed before clientConnected
        return;
      }
      for (const line of lines) log(line);
    });
  }
  const take = (id: string): ConnectPacket | undefined => {
    for (const key of [id, '']) {
      const list = pending.get(key);
      const p = list?.shift();
      if (list && list.length === 0) pending.delete(key);
      if (p) return p;
    }
    return undefined;
  };
  broker.on('clientConnected', (client: ClientInfo) => {
    const connect = verbose ? take(client.id) : undefined;
    if (state.connectionMessages) {
      const summary = connect ?? { protocolVersion: client.protocolVersion, keepalive: client.keepalive, username: client.username };
      for (const line of formatClientConnected(client.address, client.id, summary)) log(line);
    }
    flushConnack(client.id);
  });
  broker.on('clientDisconnected', (client: ClientInfo, reason: string) => {
    if (state.connectionMessages) log(formatClientDisconnected(client.id, reason));
  });
}
