// SIGHUP: the configuration file read again and applied to the running broker, as Mosquitto 2.0 does
// (its config__read with reload, then the security re-apply): password_file, acl_file,
// allow_anonymous, per_listener_settings, psk_file, the TLS listeners' certificate, key, CA and CRL files,
// allow_zero_length_clientid, persistent_client_expiration and connection_messages. Clients stay
// connected; one whose login the new files refuse is disconnected. Listeners, bridges, persistence and
// the limits need a restart (Mosquitto does not reload them either). A file that cannot be read or
// parsed is logged and the running configuration kept: a reload never stops the broker.
import type { Broker, BrokerLogger, ListenerOptions } from '../../broker';
import { formatDiagnostic, loadMosquittoConf } from '../mosquitto-conf';
import { resolveListeners, type BrokerArgs } from '../broker-args';
import type { PskFile } from '../../auth';
import { loadConfSecurity } from './security';

export interface ReloadContext {
  args: BrokerArgs;
  /** The listeners the broker runs, as resolved at the start. */
  listeners: ListenerOptions[];
  logger: BrokerLogger;
  logError(line: string): void;
  /** What the CLI's own log lines read as they are written. */
  logState: { connectionMessages: boolean };
  /** The psk_file keys the TLS-PSK listeners look up, by index in the file's listeners. */
  pskKeys: { files: (PskFile | undefined)[] };
}

export async function reloadConf(broker: Broker, file: string, ctx: ReloadContext): Promise<void> {
  const keep = (): void => ctx.logError(`Error found in ${file}: the running configuration is kept.`);
  const conf = loadMosquittoConf(file);
  if (conf.errors.length > 0) {
    for (const e of conf.errors) ctx.logError(`Error: ${formatDiagnostic(e)}`);
    return keep();
  }
  const listeners = resolveListeners(conf, ctx.args);
  if (listeners.length !== ctx.listeners.length) {
    ctx.logError('Error: It is not currently possible to add/remove listeners when reloading the config file.');
    return keep();
  }
  const security = loadConfSecurity(conf, ctx.logger);
  if (security.errors.length > 0) {
    for (const e of security.errors) ctx.logError(`Error: ${formatDiagnostic(e)}`);
    return keep();
  }
  // a listener from --host/--port comes first and has no options of its own in the file
  const offset = listeners.length - conf.listeners.length;
  let checked: Promise<string[]>;
  try {
    // applied at once, before another packet is read; the connected clients are checked after that
    checked = broker.reload({
      hooks: security.hooks ?? {},
      listeners: listeners.map((l, i) => ({
        security: i >= offset ? security.listeners[i - offset] : undefined,
        tls: l.tls === undefined ? undefined : { cert: l.tls.cert, key: l.tls.key, ca: l.tls.ca, crl: l.tls.crl, passphrase: l.tls.passphrase },
      })),
      options: {
        allowZeroLengthClientId: conf.options.allowZeroLengthClientId ?? true,
        persistentClientExpiration: conf.options.persistentClientExpiration ?? 0,
      },
    });
  } catch (err) {
    ctx.logError(`Error: unable to reload the TLS certificates: ${(err as Error).message}`);
    return keep();
  }
  ctx.logState.connectionMessages = conf.connectionMessages;
  ctx.pskKeys.files = security.psk;
  // a client disconnected there is logged as Mosquitto does: "Client X disconnected, not authorised."
  await checked;
}
