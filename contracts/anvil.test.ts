import { createPublicClient, http } from 'viem';
import { describe, expect, it } from 'vitest';
import { startAnvil } from './anvil';

describe('startAnvil', () => {
  it('runs two chains side by side on free ports and stops each for good', async () => {
    const [first, second] = await Promise.all([startAnvil(), startAnvil({ chainId: 1337 })]);
    try {
      expect(first.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(second.rpcUrl).not.toBe(first.rpcUrl);
      expect(await createPublicClient({ transport: http(first.rpcUrl) }).getChainId()).toBe(31337);
      expect(await createPublicClient({ transport: http(second.rpcUrl) }).getChainId()).toBe(1337);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    await expect(fetch(first.rpcUrl, { method: 'POST' })).rejects.toThrow();
    await first.stop();
  });

  it("says why when anvil cannot start, with anvil's own message", async () => {
    await expect(startAnvil({ extraArgs: ['--no-such-flag'] })).rejects.toThrow(
      /anvil exited before listening.*no-such-flag/s,
    );
  });
});
