// Tracks the clients a test opens so afterEach can end them all, whatever the test did.
import { connect, ClientOptions, MqttClient } from '../../../src/client';
import { nextEvent } from './events';

export class ClientPool {
  private readonly clients: MqttClient[] = [];

  /** A client that is not expected to connect quickly; errors are collected instead of thrown. */
  open(url: string | ClientOptions, options?: ClientOptions): MqttClient {
    const client = connect(url, { reconnectPeriod: 0, ...options });
    this.clients.push(client);
    return client;
  }

  /** A connected client (waits for CONNACK). */
  async connected(url: string, options?: ClientOptions): Promise<MqttClient> {
    const client = this.open(url, options);
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    try {
      await nextEvent(client, 'connect');
    } catch (err) {
      throw new Error(`${(err as Error).message}; errors: ${errors.map((e) => e.message).join('; ')}`);
    }
    return client;
  }

  async endAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.end({ force: true })));
  }
}
