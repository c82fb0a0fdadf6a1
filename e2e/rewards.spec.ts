import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { chainInfoSchema } from '@protocol/chain';
import { deviceDetailSchema } from '@protocol/devices';
import { type Address, createPublicClient, erc20Abi, http, parseUnits } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createBuyerKey } from './admin-api';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { startGleanerServer } from './gleaner-server';
import { gleanerCli } from './operator-cli';
import { LabelingPanel } from './pages/labeling-panel';
import { OptionsPage } from './pages/options-page';
import { PopupPage } from './pages/popup-page';
import { fundOnAnvil, injectWallet } from './wallet-provider';

const items = [
  ...Array.from({ length: 3 }, (_, i) => ({
    id: `review-${i}`,
    content: { type: 'text', text: `Review ${i}: wonderful` },
  })),
  ...Array.from({ length: 2 }, (_, i) => ({
    id: `check-${i}`,
    content: { type: 'text', text: `Check ${i}: absolutely wonderful` },
    gold: { type: 'single_choice', choice: 'positive' },
  })),
];

test('a contributor links wallet and device, sees points on the dashboard, claims an epoch; a second claim is refused in words', async () => {
  test.setTimeout(240_000);
  // Labels settle as soon as their item is aggregated, so verified points exist within the test.
  const server = await startGleanerServer({ env: { GLEANER_LABEL_SETTLE_SECONDS: '0' } });
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  const context = await launchWithExtension(profile);
  try {
    const chain = chainInfoSchema.parse(await (await fetch(`${server.url}/v1/chain`)).json());
    expect(chain.local).toBe(true);
    const rpcUrl = chain.rpcUrl ?? '';
    const contracts = chain.contracts;
    if (!contracts) throw new Error(`npm start's local chain has no contracts:\n${server.output()}`);

    // Earn verified points: a small labeling project done in the popup.
    const apiKey = await createBuyerKey(server);
    const created = await fetch(`${server.url}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'reviews',
        instructions: 'Is the review positive or negative?',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
        overlap: 1,
        goldRate: 0.4,
        items,
      }),
    });
    expect(created.status).toBe(201);
    const extensionId = await extensionIdOf(context);
    const options = await OptionsPage.open(context, extensionId);
    await options.consentWithServer(server.url);
    const popup = await PopupPage.open(context, extensionId);
    await expect(popup.status).toHaveText('Connected', { timeout: 30_000 });
    await expect(popup.page.getByTestId('open-dashboard')).toBeVisible();
    const device = ((await popup.deviceAddress.textContent()) ?? '').trim();
    const panel = await LabelingPanel.openPage(context, extensionId);
    for (let answered = 0; answered < items.length; answered += 1) {
      const next = await Promise.race([
        panel.task.waitFor({ timeout: 30_000 }).then(() => 'task' as const),
        panel.noTasks.waitFor({ timeout: 30_000 }).then(() => 'done' as const),
      ]);
      if (next === 'done') break;
      const task = await panel.current();
      await panel.answerWithKeys(1);
      await expect.poll(() => panel.hasMovedOn(task.id), { timeout: 15_000 }).toBe(true);
    }
    await expect
      .poll(
        async () => {
          const detail = await fetch(`${server.url}/v1/admin/devices/${device}`, {
            headers: { authorization: `Bearer ${server.operatorToken}` },
          });
          return deviceDetailSchema.parse(await detail.json()).labeling.points.verified;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);

    // The device shows a one-time code in its options; the wallet signs a message naming device and code.
    await options.page.reload();
    await options.page.getByTestId('get-link-code').click();
    const code = ((await options.page.getByTestId('link-code').textContent()) ?? '').trim();
    await expect(options.page.getByTestId('link-device')).toHaveText(device);
    const account = privateKeyToAccount(generatePrivateKey());
    await fundOnAnvil(rpcUrl, account.address);
    const page = await context.newPage();
    await injectWallet(page, { account, chainId: chain.chainId, rpcUrl });
    await page.goto(`${server.url}/#/rewards/link?device=${device}&code=${code}`);
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.getByRole('button', { name: 'Link device to this wallet' }).click();
    await expect(page.getByTestId('link-result')).toHaveAttribute('data-outcome', 'linked');
    await options.page.getByTestId('refresh-wallet').click();
    await expect(options.page.getByTestId('linked-wallet')).toContainText(account.address);

    // The dashboard, signed in with the wallet, shows the device and its verified points.
    await page.goto(`${server.url}/#/rewards`);
    await page.getByRole('button', { name: 'Sign in with wallet' }).click();
    await expect(page.getByTestId('wallet-signed-in')).toBeVisible();
    await expect(page.getByTestId('device-row')).toContainText(device);
    await expect(page.getByTestId('dashboard-points-verified')).toHaveText(/[1-9]/);
    await expect(page.getByTestId('ledger-row').first()).toBeVisible();

    // The operator closes the epoch and publishes its root on chain.
    await gleanerCli(server, ['epoch', 'close']);
    await gleanerCli(server, ['epoch', 'publish', 'latest']);

    // The only wallet of the epoch claims the whole pool (1,000 GLR by default), and its balance rises.
    const chainClient = createPublicClient({ transport: http(rpcUrl) });
    const balance = () =>
      chainClient.readContract({
        address: contracts.token as Address,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [account.address],
      });
    expect(await balance()).toBe(0n);
    // The open page notices the newly published epoch by itself (it polls the distributor).
    await expect(page.getByTestId('rewards-claimable')).toContainText('1,000', { timeout: 30_000 });
    await page.getByTestId('claim-button').click();
    await expect(page.getByTestId('claim-status')).toHaveAttribute('data-step', 'claimed', { timeout: 30_000 });
    await expect(page.getByTestId('rewards-balance')).toContainText('1,000');
    expect(await balance()).toBe(parseUnits('1000', 18));

    // A second claim of the same amount: nothing is sent, and the page says why.
    await page.getByTestId('claim-button').click();
    await expect(page.getByTestId('claim-status')).toHaveAttribute('data-step', 'nothing-left');
    await expect(page.getByTestId('claim-status')).toContainText('Nothing left to claim');
    expect(await balance()).toBe(parseUnits('1000', 18));
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
  }
});
