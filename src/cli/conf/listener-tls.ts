// A listener's TLS options (certfile, keyfile, cafile, require_certificate, crlfile, psk_hint,
// use_identity_as_username, use_subject_as_username) checked together once the file is read: what they
// make of the listener, or the errors that keep the broker from starting.
import type { ListenerOptions } from '../../broker';
import { RevocationList } from '../../broker/revocation-list';
import type { ConfDiagnostic, Where } from './diagnostics';

/**
 * certfile makes a listener mqtts (or wss with `protocol websockets`); keyfile must go with it; psk_hint
 * makes it a TLS-PSK listener. `where` is the listener's first TLS line, for the errors.
 */
export function finishListenerTls(listener: ListenerOptions, where: Where, errors: ConfDiagnostic[]): void {
  const tls = listener.tls as Partial<NonNullable<ListenerOptions['tls']>> | undefined;
  const port = `listener on port ${listener.port}`;
  if (listener.psk !== undefined) {
    // psk_hint: a TLS-PSK listener, without certificates (Mosquitto refuses both on one listener)
    if (tls !== undefined && (tls.cert ?? tls.key ?? tls.ca ?? tls.crl) !== undefined) {
      errors.push({ ...where, message: `${port}: cannot use both certificate and psk encryption in a single listener` });
    }
    if (listener.protocol === 'ws') errors.push({ ...where, message: `${port}: psk_hint is for MQTT listeners, not websockets` });
    delete listener.tls;
    listener.protocol = 'mqtts';
    return;
  }
  if (tls === undefined) return;
  if (tls.cert === undefined || tls.key === undefined) {
    if (tls.cert !== undefined || tls.key !== undefined || tls.ca !== undefined || tls.requireCertificate || listener.useIdentityAsUsername || listener.useSubjectAsUsername) {
      errors.push({ ...where, message: `${port}: TLS needs both 'certfile' and 'keyfile'` });
    }
    delete listener.tls;
    return;
  }
  if (tls.requireCertificate && tls.ca === undefined) {
    errors.push({ ...where, message: `${port}: 'require_certificate true' needs a 'cafile' to verify client certificates against` });
  }
  if (tls.crl !== undefined) {
    try {
      RevocationList.parse(tls.crl, tls.ca);
    } catch (err) {
      errors.push({ ...where, message: `${port}: crlfile: ${(err as Error).message}` });
    }
  }
  // use_identity_as_username without require_certificate: the certificate is asked for, not required;
  // a client without a verified one is refused at CONNECT (0x86 / 4), as Mosquitto refuses it
  if ((listener.useIdentityAsUsername || listener.useSubjectAsUsername) && !tls.requireCertificate) tls.requestCertificate = true;
  listener.protocol = listener.protocol === 'ws' ? 'wss' : 'mqtts';
}

