// `mqtt-hub broker -c FILE` as a child process, and the temporary folders its configurations live in:
// shared by the test files that drive the built command with mosquitto.conf files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { start, until, type Running } from '../../broker/helpers/processes';

/** The built command, relative to the built test file. */
export const MAIN = path.join(__dirname, '..', '..', '..', 'src', 'cli', 'main.js');

const tmpDirs: string[] = [];

export function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-conf-'));
  tmpDirs.push(dir);
  return dir;
}

/** A mosquitto.conf with these lines in a fresh temporary folder. */
export function tmpConf(lines: string[]): string {
  const file = path.join(tmpDir(), 'mosquitto.conf');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export function removeTmpDirs(): void {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Starts `mqtt-hub broker -c conf` and resolves once it says it is running; rejects if it exits first. */
export async function startBroker(conf: string): Promise<Running> {
  const b = start(process.execPath, [MAIN, 'broker', '-c', conf]);
  await until(
    () => {
      if (b.child.exitCode !== null) throw new Error(`broker exited ${b.child.exitCode}: ${b.stderr()}`);
      // the start line, not another that happens to say "running" (the persistence line does)
      return /mqtt-hub version \S+ running/.test(b.stdout());
    },
    15_000,
    'the broker to start',
  );
  return b;
}
