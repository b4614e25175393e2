// `mqtt-hub broker`: run the broker from the command line, with Mosquitto's configuration file format
// and its log lines (`-v` logs every packet in and out as `mosquitto -v` does).
// SIGHUP reloads the configuration as Mosquitto does (conf/reload.ts): security files, TLS files and a
// few options, with clients staying connected.
// Exit codes: 0 after SIGINT/SIGTERM, 1 when a listener or the persistence store cannot open (e.g.
// the port is in use), 3 for a bad command line or configuration (as Mosquitto does for configuration
// errors; a password_file or acl_file that cannot be loaded is one).
import { createBroker, type BrokerLogger, type BrokerOptions } from '../broker';
import { timestamp } from '../broker/packet-log';
import { attachBrokerLog } from './broker-log';
import { formatDiagnostic, loadMosquittoConf, type MosquittoConf } from './mosquitto-conf';
import { createBridge, type Bridge } from '../bridge';
import type { DiskStore } from '../persistence';
import { openPersistence, persistenceWhere } from './conf/persistence';
import { loadConfSecurity } from './conf/security';
import { reloadConf } from './conf/reload';
import { parseBrokerArgs, resolveListeners, USAGE, UsageError, type BrokerArgs } from './broker-args';

import { packageVersion } from './main';


export interface BrokerCliIo {
  out(text: string): void;
  err(text: string): void;
  /** Registers the handler for SIGINT/SIGTERM; returns a function that removes it. */
  onStopSignal(handler: (signal: string) => void): () => void;
  /** Registers the handler for SIGHUP (reload the configuration); returns a function that removes it. */
  onReloadSignal(handler: () => void): () => void;
}

const defaultIo: BrokerCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  onStopSignal: (handler) => {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
  onReloadSignal: (handler) => {
    process.on('SIGHUP', handler);
    return () => process.off('SIGHUP', handler);
  },
};

export async function main(argv: string[], io: BrokerCliIo = defaultIo): Promise<number> {
  const log = (line: string): void => io.out(`${timestamp()}${line}\n`);
  const logError = (line: string): void => io.err(`${timestamp()}${line}\n`);

  let args: BrokerArgs;
  try {
    args = parseBrokerArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${USAGE}`);
    return 3;
  }
  if (args.help) {
    io.out(USAGE);
    return 0;
  }

  let conf: MosquittoConf | undefined;
  if (args.configFile !== undefined) {
    conf = loadMosquittoConf(args.configFile);
    for (const w of conf.warnings) logError(`Warning: ${formatDiagnostic(w)}`);
    if (conf.errors.length > 0) {
      for (const e of conf.errors) logError(`Error: ${formatDiagnostic(e)}`);
      logError(`Error found in ${args.configFile}: not starting.`);
      return 3;
    }
  }

  const verbose = args.verbose || (conf?.logTypes.some((t) => t === 'all' || t === 'debug') ?? false);
  const logger: BrokerLogger = {
    // the broker's own info/debug lines: -v only, and none for what broker-log.ts says in Mosquitto's words
    debug: verbose ? (m) => log(m) : undefined,
    info: verbose ? (m) => log(m) : undefined,
    clientEvents: false,
    warn: (m) => logError(`Warning: ${m}`),
    error: (m) => logError(`Error: ${m}`),
  };

  // Security before anything opens: a file that cannot be loaded stops the start, never runs open.
  const security = conf ? loadConfSecurity(conf, logger) : { hooks: undefined, listeners: [], psk: [], errors: [] };
  for (const [i, hooks] of security.listeners.entries()) if (hooks !== undefined) conf!.listeners[i].security = hooks;
  // TLS-PSK listeners look their keys up in the psk_file loaded last (a reload replaces it)
  const pskKeys = { files: security.psk };
  for (const [i, l] of (conf?.listeners ?? []).entries()) {
    if (l.psk !== undefined) l.psk.key = (identity) => pskKeys.files[i]?.key(identity);
  }
  if (security.errors.length > 0) {
    for (const e of security.errors) logError(`Error: ${formatDiagnostic(e)}`);
    logError(`Error found in ${args.configFile}: not starting.`);
    return 3;
  }

  const logState = { connectionMessages: conf?.connectionMessages ?? true };
  const listeners = resolveListeners(conf, args);
  const options: BrokerOptions = {
    checkRetainSource: true, // Mosquitto's default; check_retain_source false turns it off
    ...conf?.options,
    ...security.hooks,
    listeners,
    logger,
  };

  // Listen for SIGINT/SIGTERM from the start: a signal while the listeners open still stops cleanly.
  let removeStopHandler = (): void => undefined;
  let stopping = false;
  const stopped = new Promise<string>((resolve) => {
    removeStopHandler = io.onStopSignal((s) => {
      removeStopHandler();
      stopping = true;
      resolve(s);
    });
  });
  // SIGHUP from the start too (its default action ends the process): reloads wait until the broker runs
  let reloading: Promise<void> = Promise.resolve();
  let running: ((value: ReturnType<typeof createBroker>) => void) | undefined;
  const brokerRunning = new Promise<ReturnType<typeof createBroker>>((resolve) => (running = resolve));
  // kept until main returns: a SIGHUP while the broker stops is ignored rather than ending the process
  const removeReloadHandler = io.onReloadSignal(() => {
    reloading = reloading.then(async () => {
      const b = await brokerRunning;
      if (stopping) return;
      log('Reloading config.');
      if (args.configFile === undefined) return;
      await reloadConf(b, args.configFile, { args, listeners, logger, logError, logState, pskKeys });
    });
  });
  const stopEarly = (): void => {
    removeStopHandler();
    removeReloadHandler();
  };

  log(`mqtt-hub version ${packageVersion()} starting`);
  if (args.configFile !== undefined) log(`Config loaded from ${args.configFile}.`);
  let store: DiskStore | undefined;
  if (conf?.persistence.enabled) {
    try {
      store = await openPersistence(conf.persistence, { info: (m) => log(m), warn: (m) => logError(`Warning: ${m}`), error: (m) => logError(`Error: ${m}`) });
    } catch (err) {
      logError(`Error: unable to open the persistence store in ${persistenceWhere(conf.persistence)}: ${(err as Error).message}`);
      stopEarly();
      return 1;
    }
    if (store) {
      options.store = store;
      log(`Persistence in ${persistenceWhere(conf.persistence)}.`);
    }
  }
  const broker = createBroker(options);

  attachBrokerLog(broker, log, verbose, logState);

  try {
    await broker.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = /listen on (\S+?):(\d+)/.exec(e.message);
    if (e.code === 'EADDRINUSE') logError(`Error: Address already in use${where ? ` (${where[1]}:${where[2]})` : ''}.`);
    else logError(`Error: ${e.message}`);
    stopEarly();
    await broker.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    return 1;
  }
  for (const a of broker.addresses()) {
    log(`Opening ${a.family === 'IPv6' ? 'ipv6' : 'ipv4'} ${a.protocol === 'ws' ? 'websockets ' : ''}listen socket on ${a.address} port ${a.port}.`);
  }
  // Bridges after the listeners (Mosquitto connects them once it runs), stopped before the broker closes.
  const bridges: Bridge[] = [];
  for (const b of conf?.bridges ?? []) {
    const bridge = createBridge(broker, b.options);
    bridge.on('connect', (a) => log(`Bridge ${b.options.name} connected to ${a.host}:${a.port}.`));
    bridge.on('disconnect', () => log(`Bridge ${b.options.name} disconnected; it will try again.`));
    bridge.on('error', (err: Error) => logError(`Warning: bridge ${b.options.name}: ${err.message}`));
    bridges.push(bridge);
    await bridge.start().catch((err: Error) => logError(`Error: bridge ${b.options.name}: ${err.message}`));
  }
  log(`mqtt-hub version ${packageVersion()} running`);
  running!(broker);

  const signal = await stopped;
  await reloading;
  log(`mqtt-hub version ${packageVersion()} terminating (${signal})`);
  await Promise.all(bridges.map((b) => b.stop().catch(() => undefined)));
  await broker.close();
  await store?.close();
  removeReloadHandler();
  return 0;
}
