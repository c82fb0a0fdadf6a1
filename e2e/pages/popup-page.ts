import type { BrowserContext, Locator, Page } from '@playwright/test';

/** The toolbar popup, opened as a tab (the same page Chromium shows in the popup). */
export class PopupPage {
  readonly status: Locator;
  readonly deviceAddress: Locator;
  readonly version: Locator;

  constructor(readonly page: Page) {
    this.status = page.getByTestId('status');
    this.deviceAddress = page.getByTestId('device-address');
    this.version = page.getByTestId('version');
  }

  static async open(context: BrowserContext, extensionId: string): Promise<PopupPage> {
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/popup.html`);
    return new PopupPage(page);
  }
}
