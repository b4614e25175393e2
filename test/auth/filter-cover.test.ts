import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { covers, intersect, isValidFilterLevels, matches, splitLevels } from '../../src/auth/filter-cover';

const L = splitLevels;
const cov = (filter: string, rules: string[]): boolean => covers(L(filter), rules.map(L));

describe('topic filter algebra', () => {
  test('matches follows MQTT matching, $ topics out of reach of a leading wildcard [MQTT-4.7.2-1]', () => {
    const yes: Array<[string, string]> = [
      ['a/b', 'a/b'],
      ['a/+', 'a/b'],
      ['a/#', 'a'],
      ['a/#', 'a/b/c'],
      ['#', 'a'],
      ['+/+', '/x'],
      ['+', ''],
      ['$SYS/#', '$SYS/broker/uptime'],
      ['$SYS/+/uptime', '$SYS/broker/uptime'],
    ];
    const no: Array<[string, string]> = [
      ['a/b', 'a'],
      ['a/+', 'a'],
      ['a/+', 'a/b/c'],
      ['#', '$SYS/broker'],
      ['+/broker', '$SYS/broker'],
      ['+/#', '$SYS'],
      ['a/b', 'a/B'],
    ];
    for (const [f, t] of yes) assert.equal(matches(L(f), L(t)), true, `${f} ~ ${t}`);
    for (const [f, t] of no) assert.equal(matches(L(f), L(t)), false, `${f} !~ ${t}`);
  });

  test('filter validation', () => {
    for (const f of ['#', '+', 'a/+/b', 'a/#', '/', '+/+', '$SYS/#', 'with space/x']) assert.equal(isValidFilterLevels(L(f)), true, f);
    for (const f of ['', 'a/#/b', 'a#', 'a/b+', '#/a', 'a\u0000b']) assert.equal(isValidFilterLevels(L(f)), false, f);
  });

  test('covers: single rules', () => {
    assert.equal(cov('a/#', ['a/#']), true);
    assert.equal(cov('a/#', ['#']), true);
    assert.equal(cov('a/b/#', ['a/+/#']), true);
    assert.equal(cov('a/+', ['a/#']), true);
    assert.equal(cov('a/b', ['a/+']), true);
    assert.equal(cov('a/#', ['a/b/#']), false, 'a/# also matches a/c');
    assert.equal(cov('a/#', ['a/+/#']), false, 'a/# also matches a itself');
    assert.equal(cov('a/+', ['a/b']), false);
    assert.equal(cov('a/+/c', ['a/b/+']), false);
    assert.equal(cov('#', ['+']), false);
    assert.equal(cov('+', ['#']), true);
  });

  test('covers: unions of rules', () => {
    assert.equal(cov('a/#', ['a', 'a/+/#']), true);
    assert.equal(cov('#', ['+', '+/+/#']), true);
    assert.equal(cov('#', ['+', '+/+/#', 'x']), true);
    assert.equal(cov('#', ['+', '+/a/#']), false);
    assert.equal(cov('a/+', ['a/b', 'a/c']), false, 'a value no rule names stays uncovered');
  });

  test('covers: $SYS needs a rule naming it', () => {
    assert.equal(cov('$SYS/#', ['#']), false);
    assert.equal(cov('$SYS/broker/uptime', ['+/#']), false);
    assert.equal(cov('$SYS/broker/uptime', ['+/broker/uptime']), false);
    assert.equal(cov('$SYS/#', ['$SYS/#']), true);
    assert.equal(cov('$SYS/broker/+', ['$SYS/#']), true);
    // A subscription starting with a wildcard does not match $ topics, so a $SYS rule is not needed for it.
    assert.equal(cov('#', ['#']), true);
  });

  test('intersect', () => {
    const cases: Array<[string, string, string | null]> = [
      ['a/+', '+/b', 'a/b'],
      ['#', 'a/+', 'a/+'],
      ['a/#', 'a', 'a'],
      ['a/#', '+/b/#', 'a/b/#'],
      ['a/b', 'a/c', null],
      ['a', 'a/b', null],
      ['a/+', 'a', null],
      ['#', '$SYS/x', null],
      ['+/x', '$SYS/x', null],
      ['$SYS/#', '$SYS/+', '$SYS/+'],
    ];
    for (const [a, b, want] of cases) {
      const got = intersect(L(a), L(b));
      assert.equal(got === null ? null : got.join('/'), want, `${a} ∩ ${b}`);
      const back = intersect(L(b), L(a));
      assert.equal(back === null ? null : back.join('/'), want, `${b} ∩ ${a}`);
    }
  });

  // Exhaustive cross-check against brute force over a finite universe. 'z' is a level value no filter
  // names, standing for the infinitely many others; topics run deeper than any filter.
  const filterLevels = ['a', 'b', '+', '#', '$s'];
  const topicLevels = ['a', 'b', 'z', '', '$s'];
  function allFilters(maxLen: number): string[][] {
    const out: string[][] = [];
    const grow = (prefix: string[]): void => {
      if (prefix.length > 0 && isValidFilterLevels(prefix)) out.push(prefix);
      if (prefix.length === maxLen || prefix[prefix.length - 1] === '#') return;
      for (const l of filterLevels) if (l !== '$s' || prefix.length === 0) grow([...prefix, l]);
    };
    grow([]);
    return out;
  }
  function allTopics(maxLen: number): string[][] {
    const out: string[][] = [];
    const grow = (prefix: string[]): void => {
      if (prefix.length > 0) out.push(prefix);
      if (prefix.length === maxLen) return;
      for (const l of topicLevels) grow([...prefix, l]);
    };
    grow([]);
    return out;
  }
  const filters = allFilters(3);
  const topics = allTopics(4);

  test('intersect agrees with brute force on every pair of small filters', () => {
    for (const a of filters) {
      for (const b of filters) {
        const i = intersect(a, b);
        const both = topics.filter((t) => matches(a, t) && matches(b, t));
        if (i === null) {
          assert.deepEqual(both, [], `${a.join('/')} ∩ ${b.join('/')} should be empty`);
        } else {
          for (const t of topics) {
            assert.equal(matches(i, t), matches(a, t) && matches(b, t), `${a.join('/')} ∩ ${b.join('/')} = ${i.join('/')} on ${t.join('/')}`);
          }
        }
      }
    }
  });

  test('covers agrees with brute force for every filter against rule sets of one and two filters', () => {
    const matching = new Map(filters.map((f) => [f, topics.filter((t) => matches(f, t))]));
    let checked = 0;
    for (const f of filters) {
      const ts = matching.get(f)!;
      for (let i = 0; i < filters.length; i++) {
        for (let j = i; j < filters.length; j++) {
          const rules = i === j ? [filters[i]] : [filters[i], filters[j]];
          const brute = ts.every((t) => rules.some((r) => matches(r, t)));
          assert.equal(covers(f, rules), brute, `${f.join('/')} covered by ${rules.map((r) => r.join('/')).join(' + ')}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 10000, `checked ${checked} cases`);
  });
});
