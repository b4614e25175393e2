// Hand-built packets for malformed-input tests: what no well-behaved encoder would produce.

/** Variable Byte Integer (MQTT 1.5.5). */
export function vbi(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A whole packet from its first byte and body. */
export function packet(firstByte: number, body: number[]): Buffer {
  return Buffer.from([firstByte, ...vbi(body.length), ...body]);
}

export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function str(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [...u16(b.length), ...b];
}

/** PUBLISH with the topic given as raw bytes. */
export function publishBytes(opts: {
  version: 4 | 5;
  topic: number[];
  payload?: number[];
  qos?: number;
  packetId?: number;
  /** Raw properties (5.0), without their length. */
  properties?: number[];
  flags?: number;
}): Buffer {
  const qos = opts.qos ?? 0;
  const body = [...u16(opts.topic.length), ...opts.topic];
  if (qos > 0) body.push(...u16(opts.packetId ?? 1));
  if (opts.version === 5) {
    const props = opts.properties ?? [];
    body.push(...vbi(props.length), ...props);
  }
  body.push(...(opts.payload ?? [0x78]));
  return packet(0x30 | (qos << 1) | (opts.flags ?? 0), body);
}
