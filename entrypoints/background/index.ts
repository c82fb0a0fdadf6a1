import { defineBackground } from 'wxt/utils/define-background';
import { logger } from '@/lib/logger';
import { watchServerReachability } from './connection';
import { createBackgroundContext } from './context';
import { createHandlers } from './handlers';
import { createLabeling } from './labeling';
import { setupLifecycle } from './lifecycle';
import { setupMessages } from './messages';
import { createSyncRunner } from './sync';
import { setupSyncAlarm } from './sync-alarm';
import { createWorkRunner } from './work';
import { createWorkDeps } from './work-deps';

// Every listener is registered synchronously here, so an event that wakes the worker finds its
// listener; the work itself runs in short bursts and keeps its state in IndexedDB.
export default defineBackground({
  // Firefox (MV2): an event page that may unload between alarms, like Chrome's service worker.
  persistent: false,
  main() {
    const base = watchServerReachability(createBackgroundContext());
    const ctx = { ...base, ...createWorkDeps(base) };
    const requestWork = createWorkRunner(ctx);
    const labeling = createLabeling(ctx);
    // Each sync that leaves the device connected (alarm, consent, syncNow, browser start) starts a
    // burst, and sends labels that waited while offline.
    const requestSync = createSyncRunner(ctx, {
      onConnected: () => {
        void requestWork();
        labeling.onConnected().catch((error) => logger.error('Resuming labeling failed.', error));
      },
    });
    setupMessages(createHandlers(ctx, requestSync, labeling));
    setupSyncAlarm(ctx, requestSync);
    setupLifecycle(ctx, requestSync);
  },
});
