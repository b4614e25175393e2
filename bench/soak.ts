// `npm run soak -- --minutes N` (default 1): our broker in a child process under steady load with
// client churn; prints heap and RSS over time and exits 1 on growth beyond the bounds after the
// warm-up, a crash, or a lost message. `--sample-seconds S` changes the sampling interval.
import { DEFAULT_SOAK, runSoak } from './soak-run';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} needs a positive number`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const minutes = argument('minutes', 1);
  const result = await runSoak({
    ...DEFAULT_SOAK,
    durationMs: minutes * 60_000,
    sampleMs: argument('sample-seconds', DEFAULT_SOAK.sampleMs / 1000) * 1000,
    log: (line) => console.log(line),
  });
  if (result.ok) {
    console.log('soak: PASS');
    return;
  }
  for (const f of result.failures) console.error(`soak: FAIL ${f}`);
  process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
