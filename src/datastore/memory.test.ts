import { MemoryDatastore } from './memory.js';
import { datastoreContract } from './contract.js';

datastoreContract('memory', async () => {
  const store = new MemoryDatastore();
  await store.start();
  return { store, cleanup: () => store.close() };
});
