export { validateTopicName, validateTopicFilter, parseSharedSubscription, isSharedFilter, topicMatchesFilter } from './validate';
export type { SharedSubscription } from './validate';
export { SubscriptionTree, SharedGroup } from './subscription-tree';
export type { MatchVisitor } from './subscription-tree';
