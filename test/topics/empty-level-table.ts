// Topics with empty levels, leading and trailing slashes and '$' first levels, and the filters, with
// '+' and '#' at each position, that match them. The answers are Mosquitto 2.0.11's (its retained and
// live deliveries agree on every row); test/broker/04-retain-empty-levels checks them against a running
// Mosquitto too, so the table cannot drift from it. [MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.2-1]

export const EMPTY_LEVEL_TOPICS: readonly string[] = [
  'a/b/', 'a/b', 'a//', 'a/', '/', '//', '/a', '/a/', 'a//b', 'foo//baz//', 'foo/bar/baz//', 'foo//baz/', '$t/a/', '$t//', '$t/',
];

/** [filter, the topics of EMPTY_LEVEL_TOPICS it matches, sorted] */
export const EMPTY_LEVEL_MATCHES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['a/+/', ['a//', 'a/b/']],
  ['+/b/', ['a/b/']],
  ['+/+/', ['//', '/a/', 'a//', 'a/b/']],
  ['a/+', ['a/', 'a/b']],
  ['a/#', ['a/', 'a//', 'a//b', 'a/b', 'a/b/']],
  ['a/+/#', ['a/', 'a//', 'a//b', 'a/b', 'a/b/']],
  ['a/b/+', ['a/b/']],
  ['a/b/#', ['a/b', 'a/b/']],
  ['+', []],
  ['+/+', ['/', '/a', 'a/', 'a/b']],
  ['/+', ['/', '/a']],
  ['+/', ['/', 'a/']],
  ['#', ['/', '//', '/a', '/a/', 'a/', 'a//', 'a//b', 'a/b', 'a/b/', 'foo//baz/', 'foo//baz//', 'foo/bar/baz//']],
  ['/#', ['/', '//', '/a', '/a/']],
  ['+/#', ['/', '//', '/a', '/a/', 'a/', 'a//', 'a//b', 'a/b', 'a/b/', 'foo//baz/', 'foo//baz//', 'foo/bar/baz//']],
  ['//', ['//']],
  ['+//', ['//', 'a//']],
  ['/+/', ['//', '/a/']],
  ['+/+/+', ['//', '/a/', 'a//', 'a//b', 'a/b/']],
  ['a//#', ['a/', 'a//', 'a//b']],
  ['a/+/b', ['a//b']],
  ['foo/+/baz//', ['foo//baz//', 'foo/bar/baz//']],
  ['foo/+/baz/+', ['foo//baz/']],
  ['foo//baz//', ['foo//baz//']],
  ['foo/+/+/+/', ['foo//baz//', 'foo/bar/baz//']],
  ['foo/#', ['foo//baz/', 'foo//baz//', 'foo/bar/baz//']],
  ['$t/+/', ['$t//', '$t/a/']],
  ['$t/#', ['$t/', '$t//', '$t/a/']],
  ['$t/+', ['$t/']],
  ['+/a/', ['/a/']],
];
