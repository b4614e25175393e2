// Test certificates readable by Mosquitto, which drops from root to its own user after start.
import * as fs from 'node:fs';
import { makeTestCerts, TestCerts } from '../../helpers/certs';

export function makeReadableTestCerts(): TestCerts {
  const certs = makeTestCerts();
  fs.chmodSync(certs.dir, 0o755);
  for (const f of fs.readdirSync(certs.dir)) fs.chmodSync(`${certs.dir}/${f}`, 0o644);
  return certs;
}
