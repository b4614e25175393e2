// Mosquitto's password_file: one `username:hash` per line, written by mosquitto_passwd or `mqtt-hub passwd`.
// Lines starting with '#' and blank lines are kept as they are, so editing a file never drops an
// administrator's comments (mosquitto_passwd 2.0 does drop them).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  burnVerifyTime,
  hashPassword,
  HashPasswordOptions,
  parsePasswordHash,
  PasswordHash,
  verifyPassword,
} from './password-hash';

export class PasswordFileError extends Error {
  constructor(
    /** What is wrong, without file and line. */
    readonly detail: string,
    /** 1-based line of the problem. */
    readonly line: number,
    readonly file?: string,
  ) {
    super(`${file ?? 'password file'}:${line}: ${detail}`);
    this.name = 'PasswordFileError';
  }
}

interface EntryLine {
  kind: 'entry';
  username: string;
  /** The text after ':' — a hash, or a plain-text password before `passwd -U`. */
  encoded: string;
  hash: PasswordHash | null;
}
interface OtherLine {
  kind: 'other';
  text: string;
}
type Line = EntryLine | OtherLine;

export interface PasswordFileParseOptions {
  /** Named in error messages. */
  file?: string;
  /** Accept entries that are not hashes (plain text, as `passwd -U` reads them); they never verify. */
  allowPlainText?: boolean;
}

/** Why a username cannot go into a password file, or null when it can. */
export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'Username must not be empty.';
  if (Buffer.byteLength(username, 'utf8') > 65535) return 'Username must be less than 65536 characters long.';
  if (/[\u0000-\u001f\u007f]/.test(username)) return 'Username must not contain control characters.';
  if (username.includes(':')) return "Username must not contain the ':' character.";
  // Both would not read back: a line starting with '#' is a comment, blanks around a name are trimmed.
  if (username.startsWith('#')) return "Username must not start with the '#' character.";
  if (username.trim() !== username) return 'Username must not start or end with a blank.';
  return null;
}

export class PasswordFile {
  /** Entries by username, for O(1) logins; the same objects as in `lines`. */
  private readonly index = new Map<string, EntryLine>();

  private constructor(private readonly lines: Line[]) {
    for (const l of lines) if (l.kind === 'entry') this.index.set(l.username, l);
  }

  static empty(): PasswordFile {
    return new PasswordFile([]);
  }

  /** Parses a file's text; throws PasswordFileError naming the line of a corrupt or duplicate entry. */
  static parse(text: string, options: PasswordFileParseOptions = {}): PasswordFile {
    const raw = text.split(/\r?\n/);
    if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
    const lines: Line[] = [];
    const seen = new Set<string>();
    raw.forEach((textLine, i) => {
      const lineNo = i + 1;
      const fail = (msg: string): never => {
        throw new PasswordFileError(msg, lineNo, options.file);
      };
      if (textLine.trim() === '' || textLine.trimStart().startsWith('#')) {
        lines.push({ kind: 'other', text: textLine });
        return;
      }
      const colon = textLine.indexOf(':');
      if (colon < 0) fail('expected "username:password hash"');
      const username = textLine.slice(0, colon).trim();
      const encoded = textLine.slice(colon + 1).trim();
      if (username === '') fail('empty username');
      if (encoded === '') fail(`empty password for user "${username}"`);
      if (seen.has(username)) fail(`user "${username}" appears twice`);
      seen.add(username);
      const hash = parsePasswordHash(encoded);
      if (!hash && !options.allowPlainText) {
        fail(`the password of user "${username}" is not a $7$ or $6$ hash (plain text? hash the file with "mqtt-hub passwd -U")`);
      }
      lines.push({ kind: 'entry', username, encoded, hash });
    });
    return new PasswordFile(lines);
  }

  static async load(file: string, options: Omit<PasswordFileParseOptions, 'file'> = {}): Promise<PasswordFile> {
    const text = await fs.promises.readFile(file, 'utf8');
    return PasswordFile.parse(text, { ...options, file });
  }

  private entries(): EntryLine[] {
    return this.lines.filter((l): l is EntryLine => l.kind === 'entry');
  }

  private entry(username: string): EntryLine | undefined {
    return this.index.get(username);
  }

  get size(): number {
    return this.index.size;
  }

  usernames(): string[] {
    return this.entries().map((e) => e.username);
  }

  has(username: string): boolean {
    return this.entry(username) !== undefined;
  }

  /** The stored `$7$...` string of a user. */
  getHash(username: string): string | undefined {
    return this.entry(username)?.encoded;
  }

  /**
   * True when the user exists and the password matches its hash. An unknown user costs about as much
   * time as a known one, so timing does not tell which usernames exist.
   */
  async verify(username: string, password: string | Buffer | undefined): Promise<boolean> {
    const e = this.entry(username);
    if (!e || !e.hash || password === undefined) {
      await burnVerifyTime(password ?? '');
      return false;
    }
    return verifyPassword(password, e.hash);
  }

  /** Adds the user or replaces its password (hashed, `$7$`), keeping the user's place in the file. */
  async setPassword(username: string, password: string | Buffer, options?: HashPasswordOptions): Promise<void> {
    const problem = usernameProblem(username);
    if (problem) throw new RangeError(problem);
    this.setHash(username, await hashPassword(password, options));
  }

  /** Stores an already hashed password (e.g. from the broker node's credentials). */
  setHash(username: string, encoded: string): void {
    const problem = usernameProblem(username);
    if (problem) throw new RangeError(problem);
    const hash = parsePasswordHash(encoded);
    if (!hash) throw new RangeError('not a $7$ or $6$ password hash');
    const e = this.entry(username);
    if (e) {
      e.encoded = encoded;
      e.hash = hash;
    } else {
      const added: EntryLine = { kind: 'entry', username, encoded, hash };
      this.lines.push(added);
      this.index.set(username, added);
    }
  }

  delete(username: string): boolean {
    const e = this.index.get(username);
    if (!e) return false;
    this.lines.splice(this.lines.indexOf(e), 1);
    this.index.delete(username);
    return true;
  }

  /** Users whose entry is plain text, not a hash. */
  plainTextUsernames(): string[] {
    return this.entries()
      .filter((e) => !e.hash)
      .map((e) => e.username);
  }

  /**
   * Hashes every plain-text entry in place (`passwd -U`). Entries that already hold a hash are left
   * alone: hashing a hash again, as mosquitto_passwd -U does, would lock those users out.
   * Returns how many entries were hashed.
   */
  async hashPlainText(options?: HashPasswordOptions): Promise<number> {
    let n = 0;
    for (const e of this.entries()) {
      if (e.hash) continue;
      const encoded = await hashPassword(e.encoded, options);
      e.encoded = encoded;
      e.hash = parsePasswordHash(encoded);
      n++;
    }
    return n;
  }

  toString(): string {
    if (this.lines.length === 0) return '';
    return this.lines.map((l) => (l.kind === 'entry' ? `${l.username}:${l.encoded}` : l.text)).join('\n') + '\n';
  }

  /**
   * Writes the file atomically (a temporary file in the same folder, then rename). An existing file
   * keeps its mode and, where we may, its owner (the broker may run as another user); a new file gets
   * `mode` (0600: hashes are still worth guarding).
   */
  async save(pathname: string, options: { mode?: number } = {}): Promise<void> {
    // Write through a symlink to its target, as editing in place would.
    const file = await fs.promises.realpath(pathname).catch(() => pathname);
    let mode = options.mode ?? 0o600;
    let owner: { uid: number; gid: number } | undefined;
    try {
      const st = await fs.promises.stat(file);
      if (options.mode === undefined) mode = st.mode & 0o7777;
      owner = { uid: st.uid, gid: st.gid };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
    const handle = await fs.promises.open(tmp, 'wx', mode);
    try {
      await handle.writeFile(this.toString(), 'utf8');
      await handle.chmod(mode); // open's mode is filtered by the umask
      if (owner) {
        await handle.chown(owner.uid, owner.gid).catch(() => undefined); // only root may give a file away
      }
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    try {
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }
}
