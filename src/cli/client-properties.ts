// `-D command identifier value`: MQTT 5 properties given on the command line, named as
// mosquitto_pub and mosquitto_sub name them (the specification's names with '-' between words).
// Which property a packet may carry comes from the codec's property table, so the CLI and the
// codec cannot disagree.
import { propertyTable, WireType } from '../codec';
import type { PropertyDefinition } from '../codec';
import type { Properties } from '../codec/types';
import { ArgsError } from './client-errors';

/** The packets a `-D` option can add properties to; `will` stands for the Will Properties of CONNECT. */
export type PropertyCommand = 'connect' | 'publish' | 'subscribe' | 'unsubscribe' | 'disconnect' | 'will';

/** The properties gathered per command. */
export type CommandProperties = Partial<Record<PropertyCommand, Properties>>;

/** Packet type codes as the property table's mask uses them; bit 0 is the Will. */
const commandBits: Record<PropertyCommand, number> = {
  will: 0,
  connect: 1,
  publish: 3,
  subscribe: 8,
  unsubscribe: 10,
  disconnect: 14,
};

/** Packets mosquitto accepts after -D that neither of our tools ever sends with properties of the user's. */
const otherCommands = new Set(['puback', 'pubrec', 'pubrel', 'pubcomp', 'auth']);

/** `messageExpiryInterval` → `message-expiry-interval`; the two plural names read singular on the command line. */
function cliName(name: keyof Properties): string {
  if (name === 'userProperties') return 'user-property';
  if (name === 'subscriptionIdentifiers') return 'subscription-identifier';
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const byCliName = new Map<string, PropertyDefinition>(propertyTable.map((d) => [cliName(d.name), d]));

const integerRange: Partial<Record<WireType, [number, number]>> = {
  [WireType.Byte]: [0, 0xff],
  [WireType.TwoByteInteger]: [0, 0xffff],
  [WireType.FourByteInteger]: [0, 0xffffffff],
  [WireType.VariableByteInteger]: [0, 268_435_455],
};

/**
 * Reads one `-D` option from `args` at `index` (the word after -D) into `into`; returns how many
 * words it used. Throws ArgsError with mosquitto's wording for every bad form.
 */
export function parsePropertyOption(args: readonly string[], index: number, allowed: readonly PropertyCommand[], into: CommandProperties): number {
  const notEnough = () => new ArgsError('--property argument given but not enough arguments specified.');
  if (index + 2 >= args.length) throw notEnough();
  const commandWord = args[index].toLowerCase();
  const name = args[index + 1].toLowerCase();
  if (!(commandWord in commandBits) && !otherCommands.has(commandWord)) throw new ArgsError('Invalid command given in --property argument.');
  const definition = byCliName.get(name);
  if (!definition) throw new ArgsError('Invalid property name given in --property argument.');
  const command = commandWord as PropertyCommand;
  if (!allowed.includes(command)) throw new ArgsError(`${commandWord} properties are not used by this client.`);
  // The table also covers what servers send; a client's PUBLISH never carries a Subscription
  // Identifier [MQTT-3.3.4-6].
  const clientForbids = command === 'publish' && definition.name === 'subscriptionIdentifiers';
  if (clientForbids || (definition.packets & (1 << commandBits[command])) === 0) {
    throw new ArgsError(`${name} property not allowed for ${commandWord} in --property argument.`);
  }
  const props = (into[command] ??= {});
  if (definition.type === WireType.Utf8StringPair) {
    if (index + 3 >= args.length) throw notEnough();
    (props.userProperties ??= []).push([args[index + 2], args[index + 3]]);
    return 4;
  }
  const text = args[index + 2];
  if (definition.name in props) throw new ArgsError(`Duplicate ${name} property given in --property argument.`);
  const range = integerRange[definition.type];
  if (range) {
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    const min = Math.max(range[0], definition.min ?? range[0]);
    const max = Math.min(range[1], definition.max ?? range[1]);
    if (!(value >= min && value <= max)) throw new ArgsError(`Property value (${text}) out of range for property ${name}.`);
    if (definition.name === 'subscriptionIdentifiers') props.subscriptionIdentifiers = [value];
    else (props as Record<string, number>)[definition.name] = value;
  } else if (definition.type === WireType.BinaryData) {
    // Binary data is taken as the bytes of the string, as mosquitto does.
    (props as Record<string, Buffer>)[definition.name] = Buffer.from(text, 'utf8');
  } else {
    (props as Record<string, string>)[definition.name] = text;
  }
  return 3;
}
