// Authentication (password_file) and authorization (acl_file) in Mosquitto's formats.
export {
  burnVerifyTime,
  DEFAULT_ITERATIONS,
  formatPasswordHash,
  hashPassword,
  HashPasswordOptions,
  parsePasswordHash,
  PasswordHash,
  PasswordHashType,
  verifyPassword,
} from './password-hash';
export { PasswordFile, PasswordFileError, PasswordFileParseOptions, usernameProblem } from './password-file';
export { AclAccess, AclFileError, AclRule, parseAclFile } from './acl-file';
export { PskFile, PskFileError } from './psk-file';
export { AclRules, ClientAcl, SubscribeCoverage } from './acl-rules';
