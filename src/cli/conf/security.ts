// allow_anonymous, password_file and acl_file. The broker's security hooks are not available to this
// command yet, so any of them that asks for protection stops the start: never run open instead.
import type { ConfDiagnostic } from './diagnostics';
import type { ConfSecurity } from '../mosquitto-conf';

export type SecurityResult = { hooks: Record<string, never> | undefined; errors: ConfDiagnostic[] };

export async function loadSecurity(security: ConfSecurity): Promise<SecurityResult> {
  const errors: ConfDiagnostic[] = [];
  const refuse = (where: ConfDiagnostic, what: string): void => {
    errors.push({ ...where, message: `security option '${what}' is not supported yet: refusing to start a broker without the protection it asks for` });
  };
  if (security.passwordFile) refuse({ ...security.passwordFile.where, message: '' }, 'password_file');
  if (security.aclFile) refuse({ ...security.aclFile.where, message: '' }, 'acl_file');
  if (security.allowAnonymous === false && security.allowAnonymousWhere) refuse({ ...security.allowAnonymousWhere, message: '' }, 'allow_anonymous false');
  return { hooks: undefined, errors };
}
