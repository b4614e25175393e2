// Certificate revocation lists (Mosquitto's crlfile), checked the way Mosquitto has OpenSSL check them:
// the client certificate itself against the CRL of the CA that issued it (X509_V_FLAG_CRL_CHECK), not
// every CA up the chain. Node's `crl` TLS option checks the whole chain (CRL_CHECK_ALL) and so refuses
// every client whose chain has a CA without a CRL of its own: we read the CRLs here instead. A CRL must be
// signed by a CA of the listener's cafile; a certificate whose issuer has no CRL here, or whose CRL has
// passed its nextUpdate, counts as revoked, as OpenSSL fails those too.
import { X509Certificate, verify } from 'node:crypto';

/** One DER element: its tag, where its contents lie, and its whole encoding. */
interface Der {
  tag: number;
  start: number;
  end: number;
  raw: Buffer;
}

function element(buf: Buffer, at: number): Der {
  if (at + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[at];
  let length = buf[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[start + i];
    start += n;
  }
  const end = start + length;
  if (end > buf.length) throw new Error('truncated DER');
  return { tag, start, end, raw: buf.subarray(at, end) };
}

function children(buf: Buffer, parent: Der): Der[] {
  const out: Der[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const e = element(buf, at);
    out.push(e);
    at = e.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

/** Digest for crypto.verify by signature algorithm OID (RSA PKCS#1 v1.5, ECDSA, Ed25519/Ed448). */
const SIGNATURE_DIGESTS: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
  '1.3.101.113': null,
};

function oid(buf: Buffer, e: Der): string {
  const bytes = buf.subarray(e.start, e.end);
  const parts = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if ((bytes[i] & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function time(buf: Buffer, e: Der): number {
  const text = buf.subarray(e.start, e.end).toString('latin1');
  const m = /^(\d{2,4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) throw new Error(`unsupported time ${text}`);
  let year = Number(m[1]);
  if (e.tag === UTC_TIME) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** A serial number as upper-case hex without leading zeros, however it was written. */
function serialKey(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

/** The issuer and subject Names of a certificate, as DER. */
function certificateNames(cert: X509Certificate): { issuer: Buffer; subject: Buffer } {
  const der = cert.raw;
  const tbs = children(der, element(der, 0))[0];
  const fields = children(der, tbs);
  const i = fields[0].tag === 0xa0 ? 1 : 0; // [0] version
  return { issuer: fields[i + 2].raw, subject: fields[i + 4].raw };
}

interface Crl {
  issuer: Buffer;
  nextUpdate: number | undefined;
  revoked: Set<string>;
  issuerName: string;
}

function pemBlocks(pem: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

export class RevocationList {
  private constructor(private readonly crls: Crl[]) {}

  /**
   * The CRLs of a PEM file, each checked against the CA certificates it must be signed by. Throws with
   * the reason when the file holds none, one cannot be read, or one is signed by no CA given.
   */
  static parse(crlPem: string | Buffer, caPem: string | Buffer | undefined): RevocationList {
    const blocks = pemBlocks(crlPem.toString(), 'X509 CRL');
    if (blocks.length === 0) throw new Error('no "X509 CRL" PEM block in the file');
    const cas = pemBlocks((caPem ?? '').toString(), 'CERTIFICATE').map((der) => new X509Certificate(der));
    const crls = blocks.map((der) => {
      const list = children(der, element(der, 0));
      if (list.length !== 3 || list[0].tag !== SEQUENCE) throw new Error('not a CRL');
      const tbs = list[0];
      const algorithm = oid(der, children(der, list[1])[0]);
      const signature = der.subarray(list[2].start + 1, list[2].end); // BIT STRING: skip the unused-bits byte
      const fields = children(der, tbs);
      let i = fields[0].tag === INTEGER ? 1 : 0; // version
      i++; // signature algorithm
      const issuer = fields[i++].raw;
      i++; // thisUpdate
      let nextUpdate: number | undefined;
      if (fields[i] !== undefined && (fields[i].tag === UTC_TIME || fields[i].tag === GENERALIZED_TIME)) nextUpdate = time(der, fields[i++]);
      const revoked = new Set<string>();
      if (fields[i] !== undefined && fields[i].tag === SEQUENCE) {
        for (const entry of children(der, fields[i])) {
          const serial = children(der, entry)[0];
          revoked.add(serialKey(der.subarray(serial.start, serial.end).toString('hex')));
        }
      }
      if (!(algorithm in SIGNATURE_DIGESTS)) throw new Error(`unsupported CRL signature algorithm ${algorithm}`);
      const ca = cas.find((c) => certificateNames(c).subject.equals(issuer));
      if (ca === undefined) throw new Error('the CRL is issued by no CA of the cafile');
      if (!verify(SIGNATURE_DIGESTS[algorithm], tbs.raw, ca.publicKey, signature)) throw new Error(`the CRL's signature does not verify with ${ca.subject.replace(/\n/g, ', ')}`);
      return { issuer, nextUpdate, revoked, issuerName: ca.subject.replace(/\n/g, ', ') };
    });
    return new RevocationList(crls);
  }

  /** Why the client certificate must be refused, or undefined when it is not revoked. */
  refusal(cert: X509Certificate, now: number = Date.now()): string | undefined {
    const issuer = certificateNames(cert).issuer;
    const crl = this.crls.find((c) => c.issuer.equals(issuer));
    if (crl === undefined) return 'no CRL from the certificate issuer';
    if (crl.nextUpdate !== undefined && crl.nextUpdate < now) return `the CRL of ${crl.issuerName} has expired`;
    if (crl.revoked.has(serialKey(cert.serialNumber))) return 'certificate revoked';
    return undefined;
  }
}
