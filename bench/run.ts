// `npm run bench` entry: node dist/bench/run.js [--quick] [names...]
// Runs every dist/bench/*.bench.js (or those whose name contains one of `names`), prints each result as
// an aligned table and writes all of them to bench-results/latest.json under the working directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchModule, BenchResult } from './types';

function formatTable(result: BenchResult): string {
  const cells = [result.columns, ...result.rows].map((row) => row.map((c) => String(c)));
  const widths = result.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = result.columns.map((_, i) => result.rows.every((row) => typeof row[i] === 'number'));
  const line = (row: string[]) =>
    row.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [result.title, '', line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  for (const note of result.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((a) => !a.startsWith('-'));
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => names.length === 0 || names.some((n) => f.includes(n)))
    .sort();
  if (files.length === 0) {
    console.error(`bench: nothing matches ${names.join(' ') || '*.bench.js'} in ${__dirname}`);
    process.exit(1);
  }
  const results: { bench: string; result: BenchResult }[] = [];
  for (const file of files) {
    const bench = file.replace(/\.bench\.js$/, '');
    console.error(`bench: running ${bench}${quick ? ' (quick)' : ''}`);
    const mod = require(path.join(__dirname, file)) as BenchModule;
    const out = await mod.run({ quick });
    for (const result of Array.isArray(out) ? out : [out]) {
      console.log(`\n${formatTable(result)}\n`);
      results.push({ bench, result });
    }
  }
  const dir = path.resolve('bench-results');
  fs.mkdirSync(dir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    results,
  };
  fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.error(`bench: results in ${path.join(dir, 'latest.json')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
