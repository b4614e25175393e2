// Run by level-cache.test.ts as `node --expose-gc level-cache-heap-child.js`: matches topics chosen to
// make the topic-level cache as expensive as possible, and prints the most heap kept alive by them
// (after GC, checked after each kind of topic) as JSON. A child process, so that no other test's garbage moves the figure.
import { SubscriptionTree } from '../../src/topics';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const tree = new SubscriptionTree<string>();
tree.add('#', 'all', 'all');
let delivered = 0;
const visitor = { subscriber: (): void => void delivered++, shared: (): void => undefined };
tree.match('warm/up', visitor);

const before = heapAfterGc();
let published = 0;
let retainedBytes = 0;
function publish(topic: string): void {
  tree.match(topic, visitor);
  published++;
}
function measure(): void {
  retainedBytes = Math.max(retainedBytes, heapAfterGc() - before);
}
// 3,000 distinct 60 KB topics
const filler = 'x'.repeat(60 * 1024 - 20);
for (let i = 0; i < 3000; i++) publish(`long/${i}/${filler}`);
measure();
// 2,000 distinct topics 10,000 levels deep
const deep = '/ab'.repeat(9999);
for (let i = 0; i < 2000; i++) publish(`${i}${deep}`);
measure();
// The cache filled up to its bound with topics just short enough to be cached, of two-character levels
// (the most levels per character that allocate a string each), then the same in two-byte characters
function fillCache(prefix: string): void {
  for (let i = 0; i < 100_000; i++) {
    const bytes = tree.levelCacheUsage.bytes;
    publish(`${prefix}${i}`);
    const usage = tree.levelCacheUsage;
    const cost = usage.bytes - bytes;
    if (cost > 0 && (usage.bytes + 2 * cost > SubscriptionTree.levelCacheMaxBytes || usage.topics >= 9_999)) break;
  }
  measure();
}
fillCache('ab/'.repeat(80));
fillCache('αβ/'.repeat(80));

process.stdout.write(JSON.stringify({ retainedBytes, published, delivered: delivered - 1, cachedBytes: tree.levelCacheUsage.bytes }));
