// The benchmark runner (bench/run.ts): discovery by name, table layout, JSON report.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatTable, runBenchmarks } from '../../bench/run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bench-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeBench(name: string, title: string): void {
  fs.writeFileSync(
    path.join(dir, `${name}.bench.js`),
    `exports.run = async (opts) => ({ title: ${JSON.stringify(title)}, columns: ['case', 'quick', 'ops/s'],
      rows: [['a', String(opts.quick), 12345], ['longer case', String(opts.quick), 7]], notes: ['a note'] });\n`,
  );
}
fakeBench('alpha', 'Alpha');
fakeBench('beta', 'Beta');
fs.writeFileSync(path.join(dir, 'helper.js'), 'throw new Error("not a bench");\n');

test('runs only the modules whose name matches, and writes the report', async () => {
  const lines: string[] = [];
  const out = path.join(dir, 'results', 'latest.json');
  const results = await runBenchmarks({ dir, names: ['beta'], quick: true, out, log: (l) => lines.push(l) });
  assert.deepEqual(results.map((r) => r.bench), ['beta']);
  const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { quick: boolean; results: { bench: string; result: { title: string; rows: unknown[][] } }[] };
  assert.equal(report.quick, true);
  assert.deepEqual(report.results.map((r) => [r.bench, r.result.title, r.result.rows[0]]), [['beta', 'Beta', ['a', 'true', 12345]]]);
  assert.match(lines.join('\n'), /Beta/);
});

test('all modules in name order when no name is given', async () => {
  const results = await runBenchmarks({ dir, names: [], quick: false, out: path.join(dir, 'all.json'), log: () => undefined });
  assert.deepEqual(results.map((r) => r.bench), ['alpha', 'beta']);
});

test('no match is an error', async () => {
  await assert.rejects(runBenchmarks({ dir, names: ['gamma'], quick: true, out: path.join(dir, 'x.json'), log: () => undefined }), /nothing matches/);
});

test('tables: numbers right-aligned, text left-aligned, notes after', () => {
  const text = formatTable({ title: 'T', columns: ['name', 'n'], rows: [['a', 5], ['bbb', 1234]], notes: ['note'] });
  assert.equal(text, ['T', '', 'name     n', '----  ----', 'a        5', 'bbb   1234', '  * note'].join('\n'));
});
