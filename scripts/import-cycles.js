#!/usr/bin/env node
'use strict';
// Lists the import cycles inside src/ and nodes/: each strongly connected component of the import
// graph, with its files, in two lists.
// - runtime: edges from the built JS (dist/, after `node scripts/build.js`). A `require` there is
//   exactly what TypeScript kept, so an import used only as a type does not count.
// - with types: edges from the TypeScript sources, `import type`, elided imports and `import('./x').T`
//   included. A cycle only here does no harm at load time, but its files still cannot be read or
//   changed apart (a handler that names `Connection` as a type depends on all of it).
//
//   node scripts/import-cycles.js                 print both lists
//   node scripts/import-cycles.js --json          the same as JSON
//   node scripts/import-cycles.js --write-baseline   record today's cycles in scripts/import-cycles-baseline.json
//   --dist DIR                                    a build made with `build.js --out DIR`
//
// test/architecture/import-cycles.test.ts fails when a runtime cycle appears that the baseline does
// not hold, when a baseline cycle grows, and when a file leaves a cycle without the baseline shrinking.
const fs = require('node:fs');
const path = require('node:path');

const ROOTS = ['src', 'nodes'];
const BASELINE = path.join(__dirname, 'import-cycles-baseline.json');

function walk(dir, ext) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p, ext);
    return e.name.endsWith(ext) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative specifier names, as a path relative to `base` without extension, or null. */
function resolveSpecifier(base, fromRel, spec, ext, known) {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), spec)).replace(/\.(js|ts)$/, '');
  if (known.has(target)) return target;
  if (known.has(`${target}/index`)) return `${target}/index`;
  return null;
}

function modulesOf(base, ext) {
  const files = ROOTS.flatMap((r) => walk(path.join(base, r), ext));
  const modules = new Map(); // 'src/broker/core' -> absolute file
  for (const f of files) modules.set(path.relative(base, f).split(path.sep).join('/').slice(0, -ext.length), f);
  return modules;
}

/** Runtime graph: the relative `require("...")` calls of the built JS. */
function runtimeGraph(dist) {
  const modules = modulesOf(dist, '.js');
  const known = new Set(modules.keys());
  const graph = new Map();
  const re = /\brequire\(\s*["'](\.{1,2}\/[^"']*)["']\s*\)/g;
  for (const [name, file] of modules) {
    const deps = new Set();
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(re)) {
      const target = resolveSpecifier(dist, name, m[1], '.js', known);
      if (target) deps.add(target);
    }
    graph.set(name, deps);
  }
  return graph;
}

/** Source graph: every relative specifier of the TypeScript sources, type-only ones included. */
function sourceGraph(root) {
  const modules = modulesOf(root, '.ts');
  const known = new Set(modules.keys());
  const graph = new Map();
  // `import ... from '...'`, `export ... from '...'`, `import '...'`, `import('...')`, `require('...')`
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*)["'](\.{1,2}\/[^"']*)["']/g;
  for (const [name, file] of modules) {
    const deps = new Set();
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(re)) {
      const target = resolveSpecifier(root, name, m[1], '.ts', known);
      if (target) deps.add(target);
    }
    graph.set(name, deps);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function cycles(graph) {
  let index = 0;
  const indexOf = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  function visit(v) {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indexOf.get(w)));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v).has(v)) out.push(component.map((m) => `${m}.ts`).sort());
    }
  }
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) visit(v);
  return out.sort((a, b) => b.length - a.length || a[0].localeCompare(b[0]));
}

/** `{ runtime, withTypes }`: the cycles of the runtime graph and of the source graph. */
function findCycles({ root = path.resolve(__dirname, '..'), dist = path.join(root, 'dist') } = {}) {
  if (!fs.existsSync(path.join(dist, 'src'))) throw new Error(`import-cycles: no build in ${dist} (run node scripts/build.js)`);
  const sources = sourceGraph(root);
  // a built file whose source is gone (a stale dist/) is left out
  const runtime = new Map([...runtimeGraph(dist)].filter(([name]) => sources.has(name)));
  return { runtime: cycles(runtime), withTypes: cycles(sources) };
}

const KINDS = { runtime: 'import cycle at run time', withTypes: 'import cycle counting type imports' };

/**
 * What is wrong with `current` against `baseline`, for both lists: each cycle must lie inside one
 * baseline cycle (a new cycle, or a baseline cycle that grew, is not), and each file of the baseline
 * must still be in a cycle (a file that left one is shrinkage to record, so the baseline only shrinks).
 */
function compareWithBaseline(current, baseline) {
  return Object.keys(KINDS).flatMap((kind) => compareList(KINDS[kind], current[kind], baseline[kind] ?? []));
}

function compareList(what, current, baseline) {
  const problems = [];
  for (const c of current) {
    const home = baseline.find((b) => c.every((f) => b.includes(f)));
    if (home) continue;
    const overlapping = baseline.filter((b) => c.some((f) => b.includes(f)));
    if (overlapping.length === 0) problems.push(`new ${what} of ${c.length} files: ${c.join(', ')}`);
    else {
      const added = c.filter((f) => !overlapping.some((b) => b.includes(f)));
      problems.push(
        `a baseline ${what} grew to ${c.length} files` +
          (added.length ? ` (now also ${added.join(', ')})` : ' (two baseline cycles joined)') +
          `: ${c.join(', ')}`,
      );
    }
  }
  const inCycles = new Set(current.flat());
  const left = baseline.flat().filter((f) => !inCycles.has(f));
  if (left.length) {
    problems.push(
      `no longer in an ${what}, remove from scripts/import-cycles-baseline.json ` +
        `(node scripts/import-cycles.js --write-baseline): ${left.join(', ')}`,
    );
  }
  return problems;
}

function format(result) {
  const lines = [];
  const files = (list) => new Set(list.flat()).size;
  lines.push(`runtime import cycles: ${result.runtime.length} (${files(result.runtime)} files)`);
  result.runtime.forEach((c, i) => lines.push(`  cycle ${i + 1}, ${c.length} files:`, ...c.map((f) => `    ${f}`)));
  lines.push(`import cycles counting type imports: ${result.withTypes.length} (${files(result.withTypes)} files)`);
  result.withTypes.forEach((c, i) => lines.push(`  cycle ${i + 1}, ${c.length} files:`, ...c.map((f) => `    ${f}`)));
  return lines.join('\n');
}

module.exports = { findCycles, compareWithBaseline, format, BASELINE };

if (require.main === module) {
  const args = process.argv.slice(2);
  const distArg = args.indexOf('--dist');
  const options = distArg >= 0 ? { dist: path.resolve(args[distArg + 1]) } : {};
  const result = findCycles(options);
  if (args.includes('--write-baseline')) {
    fs.writeFileSync(BASELINE, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`import-cycles: wrote ${path.relative(process.cwd(), BASELINE)}`);
  }
  console.log(args.includes('--json') ? JSON.stringify(result, null, 2) : format(result));
}
