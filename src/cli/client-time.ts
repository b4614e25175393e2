// Timestamps for `mqtt-hub sub -F`: %I, %U, the "tst" of %j and the @ sequences, which mosquitto_sub
// hands to strftime(3). Local time, as strftime gives it. Time is nanoseconds since the epoch
// (a bigint) so tests can pass a fixed instant.

/** Nanoseconds since the epoch, to the microsecond the platform offers. */
export function nowNanoseconds(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

const pad = (n: number, width = 2, fill = '0'): string => String(n).padStart(width, fill);
const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function splitTime(ns: bigint): { date: Date; nanos: number } {
  const ms = Number(ns / 1_000_000n);
  return { date: new Date(ms), nanos: Number(ns % 1_000_000_000n) };
}

/** "+0100": the local offset, as strftime's %z. */
function offset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  return Math.round((new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() - start.getTime()) / 86_400_000) + 1;
}

function zoneName(date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  return part?.value ?? offset(date);
}

/**
 * One strftime(3) conversion (the character after '@'), plus mosquitto's @N for the nanoseconds in
 * the second. A character strftime does not know is written back as '%' and itself, as glibc does.
 */
export function strftimeOne(c: string, ns: bigint): string {
  const { date: d, nanos } = splitTime(ns);
  const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  switch (c) {
    case 'a': return dayNames[d.getDay()].slice(0, 3);
    case 'A': return dayNames[d.getDay()];
    case 'b':
    case 'h': return monthNames[d.getMonth()].slice(0, 3);
    case 'B': return monthNames[d.getMonth()];
    case 'd': return pad(d.getDate());
    case 'D': return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`;
    case 'e': return pad(d.getDate(), 2, ' ');
    case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    case 'H': return pad(d.getHours());
    case 'I': return pad(h12);
    case 'j': return pad(dayOfYear(d), 3);
    case 'k': return pad(d.getHours(), 2, ' ');
    case 'l': return pad(h12, 2, ' ');
    case 'm': return pad(d.getMonth() + 1);
    case 'M': return pad(d.getMinutes());
    case 'n': return '\n';
    case 'N': return pad(nanos, 9);
    case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
    case 'R': return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    case 's': return String(Math.floor(d.getTime() / 1000));
    case 'S': return pad(d.getSeconds());
    case 't': return '\t';
    case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    case 'u': return String(d.getDay() === 0 ? 7 : d.getDay());
    case 'w': return String(d.getDay());
    case 'y': return pad(d.getFullYear() % 100);
    case 'Y': return String(d.getFullYear());
    case 'z': return offset(d);
    case 'Z': return zoneName(d);
    default: return `%${c}`;
  }
}

/** %I: ISO 8601 local time to the second, e.g. 2016-08-10T09:47:38+0100. */
export function isoTime(ns: bigint): string {
  return `${strftimeOne('F', ns)}T${strftimeOne('T', ns)}${strftimeOne('z', ns)}`;
}

/** The "tst" of %j: ISO 8601 local time with microseconds, e.g. 2020-05-06T22:12:00.000000+0100. */
export function jsonTime(ns: bigint): string {
  const micros = pad(Math.floor(Number(ns % 1_000_000_000n) / 1000), 6);
  return `${strftimeOne('F', ns)}T${strftimeOne('T', ns)}.${micros}${strftimeOne('z', ns)}`;
}

/** %U: Unix time with nanoseconds, e.g. 1470818943.786368637. */
export function unixTime(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${pad(Number(ns % 1_000_000_000n), 9)}`;
}
