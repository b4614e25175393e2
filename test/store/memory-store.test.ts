import { MemoryStore } from '../../src/broker/store';
import { runStoreSuite } from './abstract-store';

runStoreSuite('memory', () => new MemoryStore());
