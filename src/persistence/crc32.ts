// CRC-32 (IEEE 802.3, the polynomial of zlib and PNG) over the bytes of each stored record.
// zlib.crc32 exists from Node 20.15 / 22.2 and runs natively; older Node gets the table below.
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The table-driven CRC-32, one byte at a time; kept exported so tests can compare it with zlib's. */
export function crc32Table(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

type NativeCrc32 = (data: Uint8Array) => number;
const native = (zlib as unknown as { crc32?: NativeCrc32 }).crc32;

/** CRC-32 of data[start, end). */
export function crc32(data: Buffer, start = 0, end = data.length): number {
  if (native !== undefined) return native(start === 0 && end === data.length ? data : data.subarray(start, end)) >>> 0;
  return crc32Table(data, start, end);
}
