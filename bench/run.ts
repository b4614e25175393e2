// `npm run bench` entry: node dist/bench/run.js [--quick] [--brokers=a,b] [--scenarios=a,b] [names...]
// Runs every dist/bench/*.bench.js (or those whose name contains one of `names`), prints each result as
// an aligned table and writes all of them to bench-results/latest.json under the working directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchModule, BenchResult } from './types';

export function formatTable(result: BenchResult): string {
  const cells = [result.columns, ...result.rows].map((row) => row.map((c) => String(c)));
  const widths = result.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = result.columns.map((_, i) => result.rows.every((row) => typeof row[i] === 'number'));
  const line = (row: string[]) =>
    row.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [result.title, '', line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  for (const note of result.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}

export interface RunOptions {
  /** Where the built `*.bench.js` modules are. */
  dir: string;
  /** Substrings of module names to run; all when empty. */
  names: string[];
  quick: boolean;
  /** `--brokers=` and `--scenarios=`, passed on to every benchmark (those that compare brokers use them). */
  brokers?: string[];
  scenarios?: string[];
  /** The JSON report to write. */
  out: string;
  log?: (line: string) => void;
}

/** Runs the matching benchmark modules in name order, prints their tables and writes the JSON report. */
export async function runBenchmarks(opts: RunOptions): Promise<{ bench: string; result: BenchResult }[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const files = fs
    .readdirSync(opts.dir)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => opts.names.length === 0 || opts.names.some((n) => f.includes(n)))
    .sort();
  if (files.length === 0) throw new Error(`nothing matches ${opts.names.join(' ') || '*.bench.js'} in ${opts.dir}`);
  const results: { bench: string; result: BenchResult }[] = [];
  for (const file of files) {
    const bench = file.replace(/\.bench\.js$/, '');
    console.error(`bench: running ${bench}${opts.quick ? ' (quick)' : ''}`);
    const mod = require(path.join(opts.dir, file)) as BenchModule;
    const out = await mod.run({ quick: opts.quick, brokers: opts.brokers, scenarios: opts.scenarios });
    for (const result of Array.isArray(out) ? out : [out]) {
      log(`\n${formatTable(result)}\n`);
      results.push({ bench, result });
    }
  }
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  const report = { date: new Date().toISOString(), node: process.version, quick: opts.quick, results };
  fs.writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  console.error(`bench: results in ${opts.out}`);
  return results;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const list = (name: string): string[] | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(',');
  runBenchmarks({
    dir: __dirname,
    names: args.filter((a) => !a.startsWith('-')),
    quick: args.includes('--quick'),
    brokers: list('brokers'),
    scenarios: list('scenarios'),
    out: path.resolve('bench-results', 'latest.json'),
  }).catch((e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
