import { defineBackground } from 'wxt/utils/define-background';
import { createBackgroundContext } from './context';
import { createHandlers } from './handlers';
import { setupLifecycle } from './lifecycle';
import { setupMessages } from './messages';
import { createSyncRunner } from './sync';
import { setupSyncAlarm } from './sync-alarm';

// Every listener is registered synchronously here, so an event that wakes the worker finds its
// listener; the work itself runs in short bursts and keeps its state in IndexedDB.
export default defineBackground({
  // Firefox (MV2): an event page that may unload between alarms, like Chrome's service worker.
  persistent: false,
  main() {
    const ctx = createBackgroundContext();
    const requestSync = createSyncRunner(ctx);
    setupMessages(createHandlers(ctx, requestSync));
    setupSyncAlarm(ctx, requestSync);
    setupLifecycle(ctx, requestSync);
  },
});
