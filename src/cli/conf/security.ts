// allow_anonymous, password_file and acl_file as the broker's hooks (createSecurityHooks). Loaded when
// the broker starts: a file that cannot be read or parsed stops the start, with the line that named it.
import { AclRules, PasswordFile } from '../../auth';
import type { BrokerLogger } from '../../broker';
import { createSecurityHooks, type SecurityHooks } from '../../broker/security';
import type { ConfDiagnostic } from './diagnostics';
import type { ConfSecurity } from '../mosquitto-conf';

export type SecurityResult = { hooks: SecurityHooks | undefined; errors: ConfDiagnostic[] };

/**
 * No security option at all: no hooks, every client is let in (the broker's behaviour before it had
 * any). Any of them: allow_anonymous defaults to false, as in Mosquitto 2.
 */
export async function loadSecurity(security: ConfSecurity, logger?: BrokerLogger): Promise<SecurityResult> {
  const { passwordFile, aclFile } = security;
  if (passwordFile === undefined && aclFile === undefined && security.allowAnonymous === undefined) return { hooks: undefined, errors: [] };
  const errors: ConfDiagnostic[] = [];
  let passwords: PasswordFile | undefined;
  let acl: AclRules | undefined;
  if (passwordFile) {
    try {
      passwords = await PasswordFile.load(passwordFile.path);
    } catch (err) {
      errors.push({ ...passwordFile.where, message: `unable to load password_file '${passwordFile.path}': ${(err as Error).message}` });
    }
  }
  if (aclFile) {
    try {
      acl = await AclRules.load(aclFile.path);
    } catch (err) {
      errors.push({ ...aclFile.where, message: `unable to load acl_file '${aclFile.path}': ${(err as Error).message}` });
    }
  }
  if (errors.length > 0) return { hooks: undefined, errors };
  const hooks = createSecurityHooks({
    ...(passwords ? { passwordFile: passwords } : {}),
    ...(acl ? { acl } : {}),
    allowAnonymous: security.allowAnonymous ?? false,
    // Mosquitto grants a filter the ACL allows in part and filters what it delivers.
    grantPartialSubscriptions: true,
    ...(logger ? { logger } : {}),
  });
  return { hooks, errors };
}
