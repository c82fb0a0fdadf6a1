import { listDevices } from './admin-api';
import { expect, test } from './fixtures';
import { OptionsPage } from './pages/options-page';
import { PopupPage } from './pages/popup-page';

test('a new install asks for consent first, then registers its device and shows it connected', async ({
  context,
  extensionId,
  gleanerServer,
}) => {
  // On install the extension opens its options page on the consent screen by itself.
  await expect
    .poll(() => context.pages().some((page) => page.url().startsWith(`chrome-extension://${extensionId}/options.html`)))
    .toBe(true);

  const popupBefore = await PopupPage.open(context, extensionId);
  await expect(popupBefore.status).toHaveText('No consent');
  await popupBefore.page.close();
  expect(await listDevices(gleanerServer)).toEqual([]);

  const options = await OptionsPage.open(context, extensionId);
  await expect(options.page.getByText(/cookies/i).first()).toBeVisible();
  await options.consentWithServer(gleanerServer.url);

  const popup = await PopupPage.open(context, extensionId);
  await expect(popup.status).toHaveText('Connected', { timeout: 30_000 });
  const address = (await popup.deviceAddress.textContent())?.trim() ?? '';
  expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
  await expect(popup.version).toContainText('0.1.0');

  const devices = await listDevices(gleanerServer);
  expect(devices.map((device) => device.address)).toEqual([address]);

  // Withdrawing consent stops everything and the popup says so.
  await options.page.bringToFront();
  await options.withdrawConsent();
  await expect(popup.status).toHaveText('No consent');
});
