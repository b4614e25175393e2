// Mosquitto's psk_file: one `identity:key` per line, the key in hexadecimal, for TLS-PSK listeners
// (psk_hint). Lines starting with '#' and blank lines are skipped. A key that is empty or not
// hexadecimal is an error naming its line, as Mosquitto refuses such a file.
import * as fs from 'node:fs';

export class PskFileError extends Error {
  constructor(
    readonly detail: string,
    readonly line: number,
    readonly file?: string,
  ) {
    super(`${file ?? 'psk file'}:${line}: ${detail}`);
    this.name = 'PskFileError';
  }
}

/**
 * The key bytes of a hexadecimal psk exactly as Mosquitto and mosquitto_pub --psk derive them (their
 * mosquitto__hex2bin): one zero byte per leading "00" pair, then the digits read as a number (OpenSSL's
 * BN_hex2bn, BN_bn2bin: no further leading zero bytes, an odd digit count read with a leading zero).
 * Both ends must agree byte for byte.
 */
export function pskKey(hex: string): Buffer {
  let zeros = 0;
  while (hex.startsWith('00', zeros * 2)) zeros++;
  const bytes = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  return Buffer.concat([Buffer.alloc(zeros), bytes.subarray(i)]);
}

export class PskFile {
  private constructor(private readonly keys: Map<string, Buffer>) {}

  static parse(text: string, file?: string): PskFile {
    const keys = new Map<string, Buffer>();
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new PskFileError('expected identity:key', i + 1, file);
      const identity = line.slice(0, colon);
      const hex = line.slice(colon + 1);
      if (hex.length === 0) throw new PskFileError(`empty psk for identity "${identity}"`, i + 1, file);
      if (!/^[0-9a-fA-F]+$/.test(hex)) throw new PskFileError(`psk for identity "${identity}" contains non-hexadecimal characters`, i + 1, file);
      keys.set(identity, pskKey(hex));
    }
    return new PskFile(keys);
  }

  static async load(file: string): Promise<PskFile> {
    return PskFile.parse(await fs.promises.readFile(file, 'utf8'), file);
  }

  /** The key of this identity, or undefined for an identity the file does not hold. */
  key(identity: string): Buffer | undefined {
    const key = this.keys.get(identity);
    return key !== undefined && key.length > 0 ? key : undefined;
  }

  get size(): number {
    return this.keys.size;
  }
}
