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

  /**
   * The options page: the one the extension opened by itself on install when there is one (opening a
   * second while it loads races with it), else a new tab.
   */
  static async open(context: BrowserContext, extensionId: string): Promise<OptionsPage> {
    const url = `chrome-extension://${extensionId}/options.html`;
    const find = () => context.pages().find((page) => page.url().startsWith(url));
    // A fresh install opens it within a moment; give it that moment before opening our own.
    for (let waited = 0; !find() && waited < 5000; waited += 100) await new Promise((wait) => setTimeout(wait, 100));
    const opened = find();
    if (opened) {
      await opened.waitForLoadState();
      return new OptionsPage(opened);
    }
    const page = await context.newPage();
    await page.goto(url);
    return new OptionsPage(page);
  }

  /** Withdraws consent, confirming when the page asks. */
  async withdrawConsent(): Promise<void> {
    await this.consentWithdraw.click();
    await this.page.getByTestId('consent-withdraw-confirm').click();
  }

  /** Points the extension at a server and agrees, in one step on the consent screen. */
  async consentWithServer(url: string): Promise<void> {
    await this.serverUrl.fill(url);
    await this.consentAccept.click();
  }
}
