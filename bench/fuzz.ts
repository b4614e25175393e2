// `npm run fuzz -- [--seconds N] [--seed S] [--vectors DIR]`: the structure-aware decoder fuzzer, run for
// a time rather than a fixed count (the bounded version is in npm test). Inputs are valid packets of every
// type in 3.1.1 and 5.0 (CONNECT of levels 3, 4 and 5 too), mutated by the shared engine, plus random
// bytes. The invariant on every input: packets, or packets then exactly one ProtocolError; nothing thrown;
// never more than the maximum packet size buffered. A violation is written as a hex regression vector
// under test/codec/vectors/fuzz-found/ and the run exits 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProtocolError, encode } from '../src/codec';
import { Random, randomPacket } from '../test/codec/fixtures/random-packets';
import { DECODER_REASONS, MAX_PACKET_SIZE, feed, makeInput, mutate, type FuzzInput } from '../test/codec/fuzz-engine';

interface Options {
  seconds: number;
  seed: number;
  vectors: string;
}

function parseArgs(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seconds = Number(value('--seconds') ?? 60);
  const seed = Number(value('--seed') ?? Math.floor(Math.random() * 2 ** 31));
  if (!(seconds > 0) || !Number.isInteger(seed)) {
    console.error('usage: fuzz [--seconds N] [--seed INTEGER] [--vectors DIR]');
    process.exit(2);
  }
  // Relative to where npm runs scripts (the package root), not to the build directory.
  const vectors = path.resolve(value('--vectors') ?? path.join('test', 'codec', 'vectors', 'fuzz-found'));
  return { seconds, seed, vectors };
}

/** A CONNECT of any level, mutated, for a decoder that has not yet seen the level (as a broker's). */
function connectInput(r: Random): FuzzInput {
  const level = r.pick([3, 4, 5] as const);
  return { version: 4, stream: mutate(r, encode(randomPacket(r, 'connect', level), level)), maximumPacketSize: MAX_PACKET_SIZE };
}

/** Runs one input; returns why it violates the invariant, or undefined. */
function check(input: FuzzInput, chunkSeed: number): string | undefined {
  try {
    const out = feed(new Random(chunkSeed), input.stream, input.version, input.maximumPacketSize);
    const errors = out.filter((p): p is ProtocolError => p instanceof ProtocolError);
    if (errors.length > 1) return `${errors.length} ProtocolErrors`;
    if (errors.length === 1 && !DECODER_REASONS.includes(errors[0].reasonCode)) return `reason 0x${errors[0].reasonCode.toString(16)}`;
    return undefined;
  } catch (err) {
    // The stack's first line is the name and message; the rest says where in the decoder it threw.
    return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  }
}

function writeVector(dir: string, seed: number, n: number, input: FuzzInput, chunkSeed: number, why: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `seed-${seed}-input-${n}.hex`);
  const header = [
    `# decoder fuzz violation, seed ${seed}, input ${n}`,
    `# protocolVersion ${input.version}`,
    `# maximumPacketSize ${input.maximumPacketSize}`,
    `# chunkSeed ${chunkSeed} (feed with new Random(chunkSeed) to replay the same chunking)`,
    ...why.split('\n').map((l) => `# ${l}`),
  ];
  fs.writeFileSync(file, `${header.join('\n')}\n${input.stream.toString('hex')}\n`);
  return file;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  console.log(`fuzz: seed ${opts.seed}, ${opts.seconds} s (replay with --seed ${opts.seed})`);
  const r = new Random(opts.seed);
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(opts.seconds * 1e9));
  let tried = 0;
  let nextReport = start + 10_000_000_000n;
  for (;;) {
    // Checking the clock every input would cost more than some inputs do.
    if ((tried & 63) === 0) {
      const now = process.hrtime.bigint();
      if (now >= deadline) break;
      if (now >= nextReport) {
        console.log(`fuzz: ${tried} inputs, ${Math.round(tried / (Number(now - start) / 1e9))}/s`);
        nextReport = now + 10_000_000_000n;
      }
    }
    const input = r.bool(0.1) ? connectInput(r) : makeInput(r);
    const chunkSeed = r.int(2 ** 31);
    tried++;
    const why = check(input, chunkSeed);
    if (why !== undefined) {
      const file = writeVector(opts.vectors, opts.seed, tried, input, chunkSeed, why);
      console.error(`fuzz: VIOLATION on input ${tried}: ${why.split('\n')[0]}`);
      console.error(`fuzz: vector written to ${file}`);
      process.exit(1);
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`fuzz: ${tried} inputs tried in ${elapsed.toFixed(1)} s, ${Math.round(tried / elapsed)} inputs/s, no violation (seed ${opts.seed})`);
}

main();
