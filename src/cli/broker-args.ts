// The `mqtt-hub broker` command line (Mosquitto's -c, -p, -v, plus --host) and the listeners it and
// the configuration file give; read by the command (broker.ts) and by a SIGHUP reload (conf/reload.ts).
import type { ListenerOptions } from '../broker';
import type { MosquittoConf } from './mosquitto-conf';

export const USAGE = `mqtt-hub broker is an MQTT v5.0/v3.1.1/v3.1 broker.

Usage: mqtt-hub broker [-c config_file] [--host address] [-p port] [-v]

 -c, --config-file : read mosquitto.conf-style configuration from a file.
 --host            : address to listen on (default 127.0.0.1; configured listeners
                     without an address listen on every interface).
 -p, --port        : port to listen on (default 1883).
 -v, --verbose     : log every packet in and out, as mosquitto -v does.
 -h, --help        : display this message.
`;

export interface BrokerArgs {
  configFile?: string;
  host?: string;
  port?: number;
  verbose: boolean;
  help: boolean;
}

export class UsageError extends Error {}

export function parseBrokerArgs(argv: string[]): BrokerArgs {
  const args: BrokerArgs = { verbose: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`Error: ${a} argument given but no value specified.`);
      return v;
    };
    switch (a) {
      case '-c':
      case '--config-file':
        args.configFile = value();
        break;
      case '--host':
        args.host = value();
        break;
      case '-p':
      case '--port': {
        const v = value();
        const port = Number(v);
        if (!/^\d+$/.test(v) || port > 65535) throw new UsageError(`Error: Invalid port given: ${v}`);
        args.port = port;
        break;
      }
      case '-v':
      case '--verbose':
        args.verbose = true;
        break;
      case '-h':
      case '--help':
        args.help = true;
        break;
      default:
        throw new UsageError(`Error: Unknown option '${a}'.`);
    }
  }
  return args;
}

/**
 * Listeners from the configuration and the command line: --host/--port set the default listener
 * (as `bind_address`/`port` would). A configured listener without a bind address listens on every
 * IPv4 interface, as Mosquitto's does; without any listener the broker listens on 127.0.0.1:1883,
 * loopback only, as Mosquitto 2 does.
 */
export function resolveListeners(conf: MosquittoConf | undefined, args: BrokerArgs): ListenerOptions[] {
  const listeners = (conf?.listeners ?? []).map((l) => ({ ...l, host: l.host ?? '0.0.0.0' }));
  if (args.host !== undefined || args.port !== undefined) {
    const fromConf = conf?.defaultListenerIndex;
    if (fromConf !== undefined) {
      const l = listeners[fromConf];
      listeners[fromConf] = { ...l, host: args.host ?? l.host, port: args.port ?? l.port };
    } else {
      listeners.unshift({ host: args.host ?? '127.0.0.1', port: args.port ?? 1883 });
    }
  }
  if (listeners.length === 0) listeners.push({ host: '127.0.0.1', port: 1883 });
  return listeners;
}
