// The import cycles of src/ and nodes/ against scripts/import-cycles-baseline.json: a new cycle, a
// baseline cycle that grows, or a file that left a cycle while the baseline still lists it fails
// here, so the baseline can only shrink (issue 14's measure: no cycle at all).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Cycles {
  runtime: string[][];
  withTypes: string[][];
}
interface ImportCycles {
  findCycles(options?: { root?: string; dist?: string }): Cycles;
  compareWithBaseline(current: Cycles, baseline: Cycles): string[];
  BASELINE: string;
}

// This file runs from <dist>/test/architecture; the sources are beside dist/ (or, for a build made
// with `build.js --out DIR`, in the directory the tests are started from).
const dist = path.resolve(__dirname, '..', '..');
const root = fs.existsSync(path.join(dist, '..', 'scripts', 'import-cycles.js')) ? path.resolve(dist, '..') : process.cwd();
const importCycles = require(path.join(root, 'scripts', 'import-cycles.js')) as ImportCycles;

describe('import cycles', () => {
  test('src/ and nodes/ have no import cycle beyond the baseline, and every baseline file is still in one', () => {
    const baseline = JSON.parse(fs.readFileSync(importCycles.BASELINE, 'utf8')) as Cycles;
    const current = importCycles.findCycles({ root, dist });
    assert.deepEqual(importCycles.compareWithBaseline(current, baseline), []);
  });

  describe('on a tree of its own', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-cycles-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Writes `files` (path → text) under the temporary tree, replacing what was there. */
    function tree(files: Record<string, string>): Cycles {
      fs.rmSync(path.join(dir, 'src'), { recursive: true, force: true });
      fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
      for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      }
      return importCycles.findCycles({ root: dir, dist: path.join(dir, 'dist') });
    }

    test('a runtime cycle through an index file is found in both lists; a type-only edge only with types', () => {
      const found = tree({
        'src/a.ts': "import { b } from './b';\nimport type { C } from './c';\nexport const a = b;\n",
        'src/b.ts': "import { a } from './lib';\nexport const b = 1;\n",
        'src/lib/index.ts': "export { a } from '../a';\n",
        'src/c.ts': "import { a } from './a';\nexport type C = typeof a;\n",
        'dist/src/a.js': 'const b_1 = require("./b");\nexports.a = b_1.b;\n',
        'dist/src/b.js': 'const lib_1 = require("./lib");\nexports.b = 1;\n',
        'dist/src/lib/index.js': 'var a_1 = require("../a");\n',
        'dist/src/c.js': '"use strict";\n',
      });
      assert.deepEqual(found.runtime, [['src/a.ts', 'src/b.ts', 'src/lib/index.ts']]);
      assert.deepEqual(found.withTypes, [['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/lib/index.ts']]);
    });

    test('a new cycle, a grown cycle and a file that left a cycle are each reported', () => {
      const baseline: Cycles = { runtime: [['src/a.ts', 'src/b.ts']], withTypes: [['src/a.ts', 'src/b.ts']] };
      const grown = tree({
        'src/a.ts': "import './b';\n",
        'src/b.ts': "import './c';\n",
        'src/c.ts': "import './a';\n",
        'src/x.ts': "import './y';\n",
        'src/y.ts': "import type { X } from './x';\n",
        'dist/src/a.js': 'require("./b");\n',
        'dist/src/b.js': 'require("./c");\n',
        'dist/src/c.js': 'require("./a");\n',
        'dist/src/x.js': 'require("./y");\n',
        'dist/src/y.js': '',
      });
      const problems = importCycles.compareWithBaseline(grown, baseline);
      assert.equal(problems.length, 3, problems.join('\n'));
      assert.match(problems[0], /^a baseline import cycle at run time grew to 3 files \(now also src\/c\.ts\)/);
      assert.match(problems[1], /^a baseline import cycle counting type imports grew to 3 files/);
      assert.match(problems[2], /^new import cycle counting type imports of 2 files: src\/x\.ts, src\/y\.ts$/);

      const broken = tree({ 'src/a.ts': "import './b';\n", 'src/b.ts': '', 'dist/src/a.js': 'require("./b");\n', 'dist/src/b.js': '' });
      assert.deepEqual(importCycles.compareWithBaseline(broken, baseline), [
        'no longer in an import cycle at run time, remove from scripts/import-cycles-baseline.json (node scripts/import-cycles.js --write-baseline): src/a.ts, src/b.ts',
        'no longer in an import cycle counting type imports, remove from scripts/import-cycles-baseline.json (node scripts/import-cycles.js --write-baseline): src/a.ts, src/b.ts',
      ]);
    });
  });
});
