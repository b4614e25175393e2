// Access decisions from an acl_file, for the broker's authorizePublish / authorizeSubscribe hooks and
// for each delivery.
//
// Which rules apply to a client:
//   - the `topic` rules of its username's `user` block(s), or, for a client without a username, the
//     `topic` rules written before any `user` line;
//   - every `pattern` rule, with %u and %c replaced by its username and client id.
// A client with no applicable allowing rule is denied (as in Mosquitto).
//
// Decisions:
//   - `deny` wins: any applicable deny rule matching the topic refuses it, wherever it stands. (Mosquitto
//     lets a user's `topic` allow beat a `pattern` deny; we do not.)
//   - a rule whose filter starts with a wildcard does not reach `$` topics [MQTT-4.7.2-1]: `$SYS/...`
//     is readable only through a rule naming it (`topic read $SYS/#`).
//   - %u / %c substitution: a username or client id that is empty or holds '+', '#' or '/' would widen
//     or move the rule (username `#` turning `devices/%u/#` into `devices/#/#`, `a/b` reaching
//     another user's tree). Such a substituted rule matches nothing; the client's other rules still
//     apply. (Mosquitto instead denies such clients everything once any pattern exists.) A
//     substitution that makes a first level start with '$' matches nothing either.
//   - a pattern using %u does not apply to a client without a username.
//
// SUBSCRIBE: `subscribeCoverage` says whether all, some or none of the topics a filter can match are
// readable. `canSubscribe` grants only 'all': subscribing `a/#` needs read rules covering all of
// `a/#` and no deny rule inside it. A partly covered filter is refused (SUBACK 0x87), so a client
// learns at once that it asked for more than it may read, instead of silently missing messages; a
// broker wanting Mosquitto's behaviour (grant everything, filter on delivery) can grant 'some'.
// Either way, every delivery, retained messages included, must still pass `canRead`.
// A shared subscription `$share/{group}/{filter}` is judged on its filter.
import * as fs from 'node:fs';
import { AclAccess, AclRule, parseAclFile } from './acl-file';
import { covers, intersect, intersects, isValidFilterLevels, Levels, matches, splitLevels } from './filter-cover';

export type SubscribeCoverage = 'all' | 'some' | 'none';

interface CompiledRule {
  access: AclAccess;
  levels: string[];
  usesUsername: boolean;
  usesClientId: boolean;
}

const PLACEHOLDER = /%[uc]/g;

function compile(rule: AclRule): CompiledRule {
  const substitutes = rule.type === 'pattern';
  return {
    access: rule.access,
    levels: splitLevels(rule.filter),
    usesUsername: substitutes && rule.filter.includes('%u'),
    usesClientId: substitutes && rule.filter.includes('%c'),
  };
}

/** A value that stays inside one topic level and cannot act as a wildcard. */
function safeSubstitute(value: string): boolean {
  return value.length > 0 && !/[+#/\u0000]/.test(value);
}

function substitute(rule: CompiledRule, clientId: string, username: string | undefined): Levels | null {
  if (!rule.usesUsername && !rule.usesClientId) return rule.levels;
  if (rule.usesUsername && (username === undefined || !safeSubstitute(username))) return null;
  if (rule.usesClientId && !safeSubstitute(clientId)) return null;
  const levels = rule.levels.map((l) => l.replace(PLACEHOLDER, (m) => (m === '%u' ? (username as string) : clientId)));
  if (levels[0].startsWith('$') && !rule.levels[0].startsWith('$')) return null;
  return levels;
}

function allowsRead(access: AclAccess): boolean {
  return access === 'read' || access === 'readwrite';
}

function allowsWrite(access: AclAccess): boolean {
  return access === 'write' || access === 'readwrite';
}

function isTopicName(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic);
}

/** The filter a subscription is about: `$share/{group}/{filter}` -> `{filter}`. */
function subscribedFilter(filter: string): string | null {
  if (!filter.startsWith('$share/')) return filter;
  const slash = filter.indexOf('/', '$share/'.length);
  if (slash < 0 || slash === '$share/'.length) return null;
  return filter.slice(slash + 1);
}

export class AclRules {
  private readonly byUser = new Map<string | null, CompiledRule[]>();
  private readonly patterns: CompiledRule[] = [];

  constructor(readonly rules: readonly AclRule[]) {
    for (const rule of rules) {
      const compiled = compile(rule);
      if (rule.type === 'pattern') {
        this.patterns.push(compiled);
        continue;
      }
      const list = this.byUser.get(rule.username) ?? [];
      list.push(compiled);
      this.byUser.set(rule.username, list);
    }
  }

  /** Parses acl_file text; throws AclFileError with the line number of the first problem. */
  static parse(text: string, file?: string): AclRules {
    return new AclRules(parseAclFile(text, file));
  }

  static async load(file: string): Promise<AclRules> {
    return AclRules.parse(await fs.promises.readFile(file, 'utf8'), file);
  }

  /**
   * The decisions for one client, its rules gathered and substituted once: the broker can keep this
   * for the life of a connection and ask it for every PUBLISH and delivery.
   */
  forClient(clientId: string, username: string | null | undefined): ClientAcl {
    const user = username ?? undefined;
    const applicable: Array<{ access: AclAccess; levels: Levels }> = [];
    for (const r of this.byUser.get(user ?? null) ?? []) applicable.push(r);
    for (const r of this.patterns) {
      const levels = substitute(r, clientId, user);
      if (levels) applicable.push({ access: r.access, levels });
    }
    return new ClientAcl(
      applicable.filter((r) => allowsRead(r.access)).map((r) => r.levels),
      applicable.filter((r) => allowsWrite(r.access)).map((r) => r.levels),
      applicable.filter((r) => r.access === 'deny').map((r) => r.levels),
    );
  }

  /** May this client receive a message on `topic` (each delivery, retained messages included)? */
  canRead(clientId: string, username: string | null | undefined, topic: string): boolean {
    return this.forClient(clientId, username).canRead(topic);
  }

  /** May this client publish to `topic` (and set a will on it)? */
  canWrite(clientId: string, username: string | null | undefined, topic: string): boolean {
    return this.forClient(clientId, username).canWrite(topic);
  }

  /** How much of what `filter` can match this client may read; 'none' for an invalid filter. */
  subscribeCoverage(clientId: string, username: string | null | undefined, filter: string): SubscribeCoverage {
    return this.forClient(clientId, username).subscribeCoverage(filter);
  }

  /** Grants a subscription only when every topic it can match is readable (see the file comment). */
  canSubscribe(clientId: string, username: string | null | undefined, filter: string): boolean {
    return this.forClient(clientId, username).canSubscribe(filter);
  }
}

/** The rules of one client (see AclRules.forClient). */
export class ClientAcl {
  constructor(
    private readonly reads: readonly Levels[],
    private readonly writes: readonly Levels[],
    private readonly denies: readonly Levels[],
  ) {}

  private decide(topic: string, allowing: readonly Levels[]): boolean {
    if (!isTopicName(topic)) return false;
    const topicLevels = splitLevels(topic);
    for (const d of this.denies) if (matches(d, topicLevels)) return false;
    for (const r of allowing) if (matches(r, topicLevels)) return true;
    return false;
  }

  canRead(topic: string): boolean {
    return this.decide(topic, this.reads);
  }

  canWrite(topic: string): boolean {
    return this.decide(topic, this.writes);
  }

  subscribeCoverage(filter: string): SubscribeCoverage {
    const plain = subscribedFilter(filter);
    if (plain === null) return 'none';
    const levels = splitLevels(plain);
    if (!isValidFilterLevels(levels)) return 'none';
    if (covers(levels, this.reads) && !this.denies.some((d) => intersects(levels, d))) return 'all';
    for (const r of this.reads) {
      const both = intersect(levels, r);
      if (both && !covers(both, this.denies)) return 'some';
    }
    return 'none';
  }

  canSubscribe(filter: string): boolean {
    return this.subscribeCoverage(filter) === 'all';
  }
}
