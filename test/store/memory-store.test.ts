import { MemoryStore } from '../../src/broker/store';
import { runRestartSuite } from './abstract-restart';
import { runStoreSuite } from './abstract-store';

runStoreSuite('memory', () => new MemoryStore());
// a broker closing leaves the store it was given as it is: the next broker takes the same one
runRestartSuite('memory', () => new MemoryStore(), async (store) => store);
