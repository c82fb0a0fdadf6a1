import { afterEach, beforeEach, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';

/**
 * For tests only: a fresh fake browser before each test, and quiet info/warn logs (offline and
 * re-registration paths log on purpose), restored after.
 */
export function freshFakeBrowserForEachTest(): void {
  beforeEach(() => {
    fakeBrowser.reset();
    vi.spyOn(console, 'info').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
}
