import { MemoryEventBus } from '../../../src/events/memory.ts';
import { eventBusConformance } from './conformance.ts';

eventBusConformance('memory', async () => ({ bus: new MemoryEventBus() }));
