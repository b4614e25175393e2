// The admin HTTP endpoints behind the editor's mqtt-hub sidebar. Looking needs 'mqtt-hub.read'
// (which adminAuth's read-only users have); acting on a broker needs 'mqtt-hub.write'.
import { importMosquittoConf } from './broker-import';
import { BrokerMonitor } from './broker-monitor';
import { disconnectClient, validateTopicName } from './engine';
import { payloadToBuffer } from './message-convert';
import type { AdminRequest, AdminResponse, NodeAPI } from './node-red-types';

const monitors = new Map<string, BrokerMonitor>();

export function addMonitor(monitor: BrokerMonitor): void {
  monitors.set(monitor.id, monitor);
}

export function removeMonitor(monitor: BrokerMonitor): void {
  if (monitors.get(monitor.id) === monitor) monitors.delete(monitor.id);
}

/** Apps that have the routes: one set per runtime, even when a harness loads the module again. */
const registered = new WeakSet<object>();

export function registerBrokerAdmin(RED: NodeAPI): void {
  const admin = RED.httpAdmin;
  if (!admin || registered.has(admin)) return;
  registered.add(admin);
  const read = RED.auth.needsPermission('mqtt-hub.read');
  const write = RED.auth.needsPermission('mqtt-hub.write');
  const fail = (res: AdminResponse, status: number, key: string, params: Record<string, unknown> = {}): void =>
    res.status(status).json({ error: key, message: RED._(`mqtt-hub-sidebar.errors.${key}`, params) });
  /** The running broker of the monitor the request names, or a 404 already sent. */
  const running = (req: AdminRequest, res: AdminResponse): BrokerMonitor | null => {
    const monitor = monitors.get(req.params.id);
    if (!monitor) fail(res, 404, 'unknownBroker');
    else if (!monitor.engine) fail(res, 409, 'notRunning');
    else return monitor;
    return null;
  };

  admin.get('/mqtt-hub/brokers', read, (_req, res) => {
    res.json(
      [...monitors.values()].map((m) => ({
        id: m.id,
        name: m.name,
        running: m.running,
        clients: m.engine ? m.engine.clients().length : 0,
        addresses: m.engine ? m.engine.addresses().map((a) => ({ address: a.address, port: a.port, protocol: a.protocol })) : [],
      })),
    );
  });

  admin.get('/mqtt-hub/brokers/:id', read, (req, res) => {
    const monitor = monitors.get(req.params.id);
    if (!monitor) return fail(res, 404, 'unknownBroker');
    monitor.watch();
    monitor.snapshot().then(
      (snapshot) => res.json(snapshot),
      (err: Error) => res.status(500).json({ error: 'failed', message: err.message }),
    );
  });

  admin.post('/mqtt-hub/brokers/:id/clients/:clientId/disconnect', write, (req, res) => {
    const monitor = running(req, res);
    if (!monitor) return;
    if (!disconnectClient(monitor.engine!, req.params.clientId)) return fail(res, 404, 'unknownClient', { clientId: req.params.clientId });
    res.json({ ok: true });
  });

  admin.delete('/mqtt-hub/brokers/:id/retained', write, (req, res) => {
    const monitor = running(req, res);
    if (!monitor) return;
    const topic = req.query.topic;
    if (typeof topic !== 'string' || !validateTopicName(topic)) return fail(res, 400, 'badTopic', { topic: String(topic ?? '') });
    // An empty retained message removes the stored one [MQTT-3.3.1-10]; subscribers see it too, as from any client.
    monitor.engine!.publish({ topic, payload: Buffer.alloc(0), qos: 0, retain: true }).then(
      () => {
        monitor.forgetTopic(topic);
        res.json({ ok: true });
      },
      (err: Error) => fail(res, 400, 'publishFailed', { error: err.message }),
    );
  });

  // The broker form's "Import mosquitto.conf": the file's text in, the form's values and every warning out.
  // Write permission: it reads the password_file and acl_file the text names on this host.
  admin.post('/mqtt-hub/broker-import', write, (req, res) => {
    const body = (req.body ?? {}) as { text?: unknown; file?: unknown };
    if (typeof body.text !== 'string') return void res.status(400).json({ error: 'noText', message: RED._('mqtt-hub-broker.import.noText') });
    const file = typeof body.file === 'string' && body.file.trim() ? body.file.trim() : 'mosquitto.conf';
    // A file with errors is an answer too (ok: false, the errors with their lines), not a failed request.
    res.json(importMosquittoConf(body.text, file));
  });

  admin.post('/mqtt-hub/brokers/:id/publish', write, (req, res) => {
    const monitor = running(req, res);
    if (!monitor) return;
    const body = (req.body ?? {}) as { topic?: unknown; payload?: unknown; qos?: unknown; retain?: unknown };
    if (typeof body.topic !== 'string' || !validateTopicName(body.topic)) return fail(res, 400, 'badTopic', { topic: String(body.topic ?? '') });
    const qos = Number(body.qos ?? 0);
    if (qos !== 0 && qos !== 1 && qos !== 2) return fail(res, 400, 'badQos');
    monitor.engine!.publish({ topic: body.topic, payload: payloadToBuffer(body.payload ?? ''), qos, retain: body.retain === true || body.retain === 'true' }).then(
      () => res.json({ ok: true }),
      (err: Error) => fail(res, 400, 'publishFailed', { error: err.message }),
    );
  });
}
