import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestCerts {
  dir: string;
  caCert: string; // paths
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A certificate from another CA, which the test CA does not trust. */
  strangerCert: string;
  strangerKey: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate
 * (CN = clientCommonName), made with the openssl CLI at test time.
 */
export function makeTestCerts(clientCommonName = 'test-client'): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-certs-'));
  const days = '2';
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days, '-subj', '/CN=mqtt-hub test CA'], dir);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', days, '-extfile', 'server.ext'], dir);
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${clientCommonName}`], dir);
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', days, '-extfile', 'client.ext'], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'stranger.key', '-out', 'stranger.crt', '-days', days, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], dir);
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.crt'),
    strangerKey: p('stranger.key'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A certificate and its key, as paths. */
export interface IssuedCert {
  cert: string;
  key: string;
}

/**
 * One more certificate from the test CA, or from `issuer` (an intermediate CA from issueCa): a client
 * certificate with CN = commonName, or with `ca` a CA certificate itself.
 */
export function issueCert(certs: TestCerts, name: string, commonName: string, options: { issuer?: IssuedCert; ca?: boolean } = {}): IssuedCert {
  const issuer = options.issuer ?? { cert: certs.caCert, key: certs.caKey };
  const ext = `${name}.ext`;
  fs.writeFileSync(path.join(certs.dir, ext), options.ca ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' : 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${commonName}`], certs.dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext], certs.dir);
  return { cert: path.join(certs.dir, `${name}.crt`), key: path.join(certs.dir, `${name}.key`) };
}

/**
 * A CRL signed by `issuer` (default the test CA) revoking these certificates, made with `openssl ca
 * -revoke` and `-gencrl` as a CA operator would; returns its path. Called again, it adds revocations.
 */
export function makeCrl(certs: TestCerts, revoked: string[], issuer: IssuedCert = { cert: certs.caCert, key: certs.caKey }): string {
  const tag = path.basename(issuer.cert, '.crt');
  const conf = path.join(certs.dir, `${tag}-ca.cnf`);
  if (!fs.existsSync(conf)) {
    fs.writeFileSync(path.join(certs.dir, `${tag}-index.txt`), '');
    fs.writeFileSync(path.join(certs.dir, `${tag}-crlnumber`), '01\n');
    fs.writeFileSync(
      conf,
      [
        '[ca]', 'default_ca = test_ca', '[test_ca]', `database = ${tag}-index.txt`, `crlnumber = ${tag}-crlnumber`,
        `certificate = ${issuer.cert}`, `private_key = ${issuer.key}`, 'default_md = sha256', 'default_crl_days = 2', '',
      ].join('\n'),
    );
  }
  for (const cert of revoked) openssl(['ca', '-config', conf, '-revoke', cert], certs.dir);
  const out = path.join(certs.dir, `${tag}-crl.pem`);
  openssl(['ca', '-config', conf, '-gencrl', '-out', out], certs.dir);
  return out;
}
