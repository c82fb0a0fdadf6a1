import type { BrowserContext, Locator, Page } from '@playwright/test';

/** The extension's options page: consent screen first, then settings. */
export class OptionsPage {
  readonly consentAccept: Locator;
  readonly consentWithdraw: Locator;
  readonly serverUrl: Locator;

  constructor(readonly page: Page) {
    this.consentAccept = page.getByTestId('consent-accept');
    this.consentWithdraw = page.getByTestId('consent-withdraw');
    this.serverUrl = page.getByTestId('server-url');
  }

  static async open(context: BrowserContext, extensionId: string): Promise<OptionsPage> {
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/options.html`);
    return new OptionsPage(page);
  }

  /** Points the extension at a server and agrees, in one step on the consent screen. */
  async consentWithServer(url: string): Promise<void> {
    await this.serverUrl.fill(url);
    await this.consentAccept.click();
  }
}
