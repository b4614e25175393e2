import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type MatchVisitor, type SharedGroup, SubscriptionTree, topicMatchesFilter } from '../../src/topics';

const DEPTH = 10_000;
/** The deepest filter a SUBSCRIBE can carry: '+/+/.../+' in 65,535 bytes. */
const MAX_DEPTH = 32_768;

function levels(n: number, level: string): string[] {
  return Array<string>(n).fill(level);
}

function matchAll(tree: SubscriptionTree<string>, topic: string): { plain: string[]; shared: string[] } {
  const plain: string[] = [];
  const shared: string[] = [];
  const visitor: MatchVisitor<string> = {
    subscriber: (v) => plain.push(v),
    shared: (g: SharedGroup<string>) => shared.push(`${g.shareName}:${g.pick()!}`),
  };
  tree.match(topic, visitor);
  return { plain: plain.sort(), shared };
}

describe('SubscriptionTree with topics and filters thousands of levels deep', () => {
  const topic = levels(DEPTH, 'a').join('/');
  const exact = topic;
  const plusOnly = levels(DEPTH, '+').join('/');
  const alternating = levels(DEPTH, 'a')
    .map((l, i) => (i % 2 === 1 ? '+' : l))
    .join('/');
  const deepHash = `${levels(DEPTH - 1, 'a').join('/')}/#`;
  const plusThenHash = `${levels(DEPTH / 2, '+').join('/')}/#`;
  const tooDeep = `${plusOnly}/+`;
  const lastDiffers = `${levels(DEPTH - 1, 'a').join('/')}/b`;
  const filters = ['#', exact, plusOnly, alternating, deepHash, plusThenHash, tooDeep, lastDiffers];

  test(`a ${DEPTH}-level topic matches '#', the deep exact filter and '+'-heavy filters`, () => {
    const tree = new SubscriptionTree<string>();
    for (const f of filters) tree.add(f, 'k', f);
    const expected = filters.filter((f) => topicMatchesFilter(f, topic)).sort();
    assert.deepEqual(expected, ['#', exact, plusOnly, alternating, deepHash, plusThenHash].sort());
    assert.deepEqual(matchAll(tree, topic).plain, expected);
    // the same topic again, its levels now cached
    assert.deepEqual(matchAll(tree, topic).plain, expected);
  });

  test(`a ${MAX_DEPTH}-level topic reaches the deepest valid filter and '#'`, () => {
    const tree = new SubscriptionTree<string>();
    const deepest = levels(MAX_DEPTH, '+').join('/');
    assert.equal(deepest.length, 65_535);
    tree.add(deepest, 'deep', 'deep');
    tree.add('#', 'all', 'all');
    assert.deepEqual(matchAll(tree, levels(MAX_DEPTH, 'x').join('/')).plain, ['all', 'deep']);
    assert.deepEqual(matchAll(tree, levels(MAX_DEPTH + 1, 'x').join('/')).plain, ['all']);
  });

  test(`[MQTT-4.7.2-1] a ${DEPTH}-level '$' topic is not matched by filters starting with a wildcard`, () => {
    const tree = new SubscriptionTree<string>();
    const dollarTopic = ['$SYS', ...levels(DEPTH - 1, 'a')].join('/');
    const dollarExact = dollarTopic;
    const dollarPlus = ['$SYS', ...levels(DEPTH - 1, '+')].join('/');
    for (const f of ['#', plusOnly, plusThenHash, dollarExact, dollarPlus, '$SYS/#']) tree.add(f, 'k', f);
    assert.deepEqual(matchAll(tree, dollarTopic).plain, ['$SYS/#', dollarExact, dollarPlus].sort());
  });

  test('a shared group on a deep filter serves its members in turn (section 4.8.2)', () => {
    const tree = new SubscriptionTree<string>();
    for (const m of ['m1', 'm2']) tree.add(`$share/g/${plusOnly}`, m, m);
    tree.add(`$share/h/${exact}`, 'h1', 'h1');
    tree.add('#', 'all', 'all');
    const first = matchAll(tree, topic);
    const second = matchAll(tree, topic);
    assert.deepEqual(first.plain, ['all']);
    assert.deepEqual(first.shared.sort(), ['g:m1', 'h:h1']);
    assert.deepEqual(second.shared.sort(), ['g:m2', 'h:h1']);
  });

  test('a deep filter is removed and its branch pruned', () => {
    const tree = new SubscriptionTree<string>();
    tree.add(plusOnly, 'k', 'deep');
    tree.add(exact, 'k', 'exact');
    assert.equal(tree.remove(plusOnly, 'k'), true);
    assert.equal(tree.remove(exact, 'k'), true);
    assert.equal(tree.size, 0);
    assert.deepEqual(matchAll(tree, topic).plain, []);
  });
});

describe('SubscriptionTree matching state between matches', () => {
  test('a short topic after a deep one matches as usual', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('#', 'all', '#');
    tree.add('a/+', 'k', 'a/+');
    tree.add(levels(DEPTH, '+').join('/'), 'k', 'deep');
    assert.deepEqual(matchAll(tree, levels(DEPTH, 'a').join('/')).plain, ['#', 'deep']);
    assert.deepEqual(matchAll(tree, 'a/b').plain, ['#', 'a/+']);
  });

  test('a visitor that matches again from inside a callback gets both matches right', () => {
    const tree = new SubscriptionTree<string>();
    for (const f of ['x/+', 'x/#', '+/y', 'p/q', 'p/+']) tree.add(f, 'k', f);
    const outer: string[] = [];
    let inner: string[] = [];
    const visitor: MatchVisitor<string> = {
      subscriber: (v) => {
        outer.push(v);
        if (v === 'x/#') inner = matchAll(tree, 'p/q').plain;
      },
      shared: () => undefined,
    };
    tree.match('x/y', visitor);
    assert.deepEqual(outer.sort(), ['+/y', 'x/#', 'x/+']);
    assert.deepEqual(inner, ['p/+', 'p/q']);
  });

  test('a visitor that throws leaves the tree matching correctly afterwards', () => {
    const tree = new SubscriptionTree<string>();
    for (const f of ['#', 'a/+', 'a/b', '+/b']) tree.add(f, 'k', f);
    const throwing: MatchVisitor<string> = {
      subscriber: () => {
        throw new Error('visitor failed');
      },
      shared: () => undefined,
    };
    assert.throws(() => tree.match('a/b', throwing), /visitor failed/);
    assert.deepEqual(matchAll(tree, 'a/b').plain, ['#', '+/b', 'a/+', 'a/b']);
  });
});
