// maxTopicLevels: how deep a topic name or filter may go (Mosquitto 2.0's TOPIC_HIERARCHY_LIMIT, 200
// separators). The specification sets no bound; without one, a topic of 65,535 '/' makes every match
// and every subscription walk 65,536 levels.

/** True when `topic` has more than `max` '/' separators (max 0: no limit); costs nothing for short topics. */
export function exceedsTopicLevels(topic: string, max: number): boolean {
  if (max <= 0 || topic.length <= max) return false;
  let separators = 0;
  for (let i = topic.indexOf('/'); i !== -1; i = topic.indexOf('/', i + 1)) {
    if (++separators > max) return true;
  }
  return false;
}
