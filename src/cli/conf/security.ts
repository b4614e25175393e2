// allow_anonymous, password_file and acl_file as the broker's hooks (createSecurityHooks). Loaded when
// the broker starts: a file that cannot be read or parsed stops the start, with the line that named it;
// loaded again on SIGHUP, when such a file leaves the running hooks in place. Files are read
// synchronously: a reload then takes effect before the broker reads another packet, as in Mosquitto.
import * as fs from 'node:fs';
import { AclRules, PasswordFile, PskFile } from '../../auth';
import type { BrokerLogger } from '../../broker';
import { createSecurityHooks, type SecurityHooks } from '../../broker/security';
import type { ConfDiagnostic } from './diagnostics';
import type { ConfSecurity, MosquittoConf } from '../mosquitto-conf';

export type SecurityResult = { hooks: SecurityHooks | undefined; errors: ConfDiagnostic[] };

/**
 * What allow_anonymous is when the file does not say, as in Mosquitto 2: false once the file defines a
 * listener (`listener`, `port` or `bind_address`) or any security option; true only for a file that
 * does neither, whose broker listens on the command line's port alone.
 */
export function anonymousByDefault(conf: MosquittoConf, security: ConfSecurity): boolean {
  return conf.listeners.length === 0 && security.passwordFile === undefined && security.aclFile === undefined;
}

/**
 * allow_anonymous true, stated or by default, and no other security option: no hooks, every client is
 * let in. Otherwise the hooks, allow_anonymous false unless the file says true.
 */
export function loadSecurity(security: ConfSecurity, logger?: BrokerLogger, anonymousDefault = true): SecurityResult {
  const { passwordFile, aclFile } = security;
  const allowAnonymous = security.allowAnonymous ?? anonymousDefault;
  if (passwordFile === undefined && aclFile === undefined && allowAnonymous) return { hooks: undefined, errors: [] };
  const errors: ConfDiagnostic[] = [];
  let passwords: PasswordFile | undefined;
  let acl: AclRules | undefined;
  if (passwordFile) {
    try {
      passwords = PasswordFile.parse(fs.readFileSync(passwordFile.path, 'utf8'), { file: passwordFile.path });
    } catch (err) {
      errors.push({ ...passwordFile.where, message: `unable to load password_file '${passwordFile.path}': ${(err as Error).message}` });
    }
  }
  if (aclFile) {
    try {
      acl = AclRules.parse(fs.readFileSync(aclFile.path, 'utf8'), aclFile.path);
    } catch (err) {
      errors.push({ ...aclFile.where, message: `unable to load acl_file '${aclFile.path}': ${(err as Error).message}` });
    }
  }
  if (errors.length > 0) return { hooks: undefined, errors };
  const hooks = createSecurityHooks({
    ...(passwords ? { passwordFile: passwords } : {}),
    ...(acl ? { acl } : {}),
    allowAnonymous,
    // Mosquitto grants a filter the ACL allows in part and filters what it delivers.
    grantPartialSubscriptions: true,
    ...(logger ? { logger } : {}),
  });
  return { hooks, errors };
}

/**
 * The broker's hooks and, with per_listener_settings, each listener's; the psk_file keys of each TLS-PSK
 * listener (both in the order of `conf.listeners`).
 */
export interface ConfHooks {
  hooks: SecurityHooks | undefined;
  listeners: (SecurityHooks | undefined)[];
  psk: (PskFile | undefined)[];
  errors: ConfDiagnostic[];
}

export function loadConfSecurity(conf: MosquittoConf, logger?: BrokerLogger): ConfHooks {
  // per_listener_settings true: the broker has no security of its own, each listener's decides (its
  // hooks, or none: every client let in), as Mosquitto's checks read the listener's options alone
  const security: SecurityResult = conf.listenerSecurity !== undefined ? { hooks: undefined, errors: [] } : loadSecurity(conf.security, logger, anonymousByDefault(conf, conf.security));
  const result: ConfHooks = { hooks: security.hooks, listeners: conf.listeners.map(() => undefined), psk: conf.listeners.map(() => undefined), errors: security.errors };
  if (conf.listenerSecurity !== undefined) {
    // per_listener_settings true: each listener gets its own hooks, allow_anonymous false unless its own
    // section says true (a file with listeners always has one: Mosquitto 2)
    for (const [i, own] of conf.listenerSecurity.entries()) {
      const loaded = loadSecurity(own, logger, anonymousByDefault(conf, own));
      result.errors.push(...loaded.errors);
      result.listeners[i] = loaded.hooks;
    }
  }
  // psk_file: the listener's own with per_listener_settings, else the broker's
  const loadedPsk = new Map<string, PskFile>();
  for (const [i, l] of conf.listeners.entries()) {
    if (l.psk === undefined) continue;
    const file = conf.listenerSecurity !== undefined ? conf.listenerSecurity[i].pskFile : conf.security.pskFile;
    if (file === undefined) continue; // an error of the configuration already (mosquitto-conf.ts)
    try {
      const psk = loadedPsk.get(file.path) ?? PskFile.parse(fs.readFileSync(file.path, 'utf8'), file.path);
      loadedPsk.set(file.path, psk);
      result.psk[i] = psk;
    } catch (err) {
      result.errors.push({ ...file.where, message: `unable to load psk_file '${file.path}': ${(err as Error).message}` });
    }
  }
  return result;
}
