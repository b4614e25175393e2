// Upgrading the settings of nodes saved by earlier versions of the package. Node-RED has no hook for
// this, so each node's runtime constructor passes its config through `migrateConfig` before reading
// it, and the editor forms fill what an old node lacks (the defaults of missing fields, and the
// hidden `settingsVersion` field, so a node saved from the form carries the version it was saved at).
// A step runs for a config older than its version; every step also checks the shape it upgrades,
// because a node the form never saved has no version marker at all.

/** The config property holding the settings version the node was saved at (absent: 1). */
export const SETTINGS_VERSION = 'settingsVersion';

export interface Migration {
  /** The settings version this step upgrades to. */
  readonly version: number;
  /** What changed at this version (the tests name it). */
  readonly change: string;
  /** Rewrites `config` in place from the shape before `version`. */
  up(config: Record<string, unknown>): void;
}

export interface Migrated {
  config: Record<string, unknown>;
  /** The version the node was saved at. */
  from: number;
  /** The changes applied, oldest first (empty when the node was current). */
  applied: string[];
}

/** The newest settings version of a node type: the highest step's version, 1 with none. */
export function currentVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((v, m) => Math.max(v, m.version), 1);
}

/** A copy of `config` brought to the newest version; `config` itself is left as Node-RED gave it. */
export function migrateConfig(config: Record<string, unknown>, migrations: readonly Migration[]): Migrated {
  const saved = Number(config[SETTINGS_VERSION]);
  const from = Number.isInteger(saved) && saved >= 1 ? saved : 1;
  const out: Record<string, unknown> = { ...config };
  const applied: string[] = [];
  for (const step of [...migrations].sort((a, b) => a.version - b.version)) {
    if (step.version <= from) continue;
    const before = JSON.stringify(out);
    step.up(out);
    if (JSON.stringify(out) !== before) applied.push(step.change);
  }
  out[SETTINGS_VERSION] = Math.max(from, currentVersion(migrations));
  return { config: out, from, applied };
}

/** mqtt-hub-connection. */
export const connectionMigrations: readonly Migration[] = [
  {
    // Host, URL and client id became typedInputs (string or environment variable), and "Log every
    // packet" was added: a node from before has neither, and means a plain string and no logging.
    version: 2,
    change: 'hostType, urlType and clientIdType "str"; verbose false',
    up(config) {
      for (const key of ['hostType', 'urlType', 'clientIdType']) if (config[key] === undefined || config[key] === '') config[key] = 'str';
      if (config.verbose === undefined) config.verbose = false;
    },
  },
];

/** mqtt-hub-broker. */
export const brokerMigrations: readonly Migration[] = [
  {
    // The user list was called `users` until it became `brokerUsers` (Node-RED reserves `users` on a
    // node); the passwords stayed in the credentials, by user name.
    version: 2,
    change: 'users renamed brokerUsers',
    up(config) {
      if (config.brokerUsers === undefined && Array.isArray(config.users)) config.brokerUsers = config.users;
      delete config.users;
    },
  },
];

/** mqtt-hub-in: its settings have kept their shape since the first version. */
export const inMigrations: readonly Migration[] = [];

/** mqtt-hub-out: its settings have kept their shape since the first version. */
export const outMigrations: readonly Migration[] = [];
