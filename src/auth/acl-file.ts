// Mosquitto's acl_file syntax:
//   # comment
//   topic [read|write|readwrite|deny] FILTER      (no access word: readwrite)
//   user NAME                                     (topic lines after it are NAME's; before any: anonymous)
//   pattern [read|write|readwrite|deny] FILTER    (all clients; %u = username, %c = client id)
// The filter is the rest of the line, so it may hold spaces; Mosquitto reads `topic read` as readwrite
// on a topic named "read", and so do we. Unlike Mosquitto 2.0 we refuse unknown keywords and invalid
// filters with their line number rather than skipping them: a mistyped `deny` line must not vanish.
import { isValidFilterLevels, splitLevels } from './filter-cover';

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclRule {
  type: 'topic' | 'pattern';
  access: AclAccess;
  /** The filter as written, `%u` / `%c` included for patterns. */
  filter: string;
  /** For `topic` rules: the user of the enclosing `user` block, null before any (anonymous clients). */
  username: string | null;
  /** 1-based line in the file. */
  line: number;
}

export class AclFileError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly file?: string,
  ) {
    super(`${file ?? 'acl file'}:${line}: ${message}`);
    this.name = 'AclFileError';
  }
}

const ACCESS_WORDS: ReadonlySet<string> = new Set(['read', 'write', 'readwrite', 'deny']);

/** Splits off the first whitespace-separated word. */
function firstWord(s: string): [string, string] {
  const m = /^(\S+)\s*(.*)$/.exec(s);
  return m ? [m[1], m[2]] : ['', ''];
}

export function parseAclFile(text: string, file?: string): AclRule[] {
  const rules: AclRule[] = [];
  let username: string | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const fail = (msg: string): never => {
      throw new AclFileError(msg, line, file);
    };
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const [keyword, rest] = firstWord(content);
    if (keyword === 'user') {
      if (rest === '') fail('missing username after "user"');
      username = rest;
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      return fail(`unknown keyword "${keyword}" (expected topic, pattern or user)`);
    }
    if (rest === '') fail(`missing topic filter after "${keyword}"`);
    const [word, after] = firstWord(rest);
    let access: AclAccess = 'readwrite';
    let filter = rest;
    if (after !== '') {
      if (!ACCESS_WORDS.has(word)) fail(`invalid access "${word}" (expected read, write, readwrite or deny)`);
      access = word as AclAccess;
      filter = after;
    }
    if (!isValidFilterLevels(splitLevels(filter))) fail(`invalid topic filter "${filter}"`);
    rules.push({ type: keyword, access, filter, username: keyword === 'topic' ? username : null, line });
  });
  return rules;
}
