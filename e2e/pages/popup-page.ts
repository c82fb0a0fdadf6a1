import type { BrowserContext, Locator, Page } from '@playwright/test';

/** Chrome's largest popup: 800 × 600 px; Gleaner's is 380 px wide. */
export const popupSize = { width: 380, height: 600 };

/** Where an element sits, and whether all of it is inside the popup without scrolling. */
interface PlacedElement {
  testId: string;
  box: { x: number; y: number; width: number; height: number } | null;
  inside: boolean;
}

/** The toolbar popup, opened as a tab of the popup's size (the same page Chromium shows in the popup). */
export class PopupPage {
  readonly status: Locator;
  readonly deviceAddress: Locator;
  readonly version: Locator;
  readonly outboxCount: Locator;
  readonly labelTask: Locator;

  constructor(readonly page: Page) {
    this.status = page.getByTestId('status');
    this.deviceAddress = page.getByTestId('device-address');
    this.version = page.getByTestId('version');
    this.outboxCount = page.getByTestId('outbox-count');
    this.labelTask = page.getByTestId('label-task');
  }

  static async open(context: BrowserContext, extensionId: string): Promise<PopupPage> {
    const page = await context.newPage();
    await page.setViewportSize(popupSize);
    await page.goto(`chrome-extension://${extensionId}/popup.html`);
    return new PopupPage(page);
  }

  /** The document's full height (what would scroll past 600 px), and where each named element sits. */
  async layout(
    testIds: readonly string[],
  ): Promise<{ scrollHeight: number; scrollWidth: number; placed: PlacedElement[] }> {
    const placed: PlacedElement[] = [];
    for (const testId of testIds) {
      const box = await this.page.getByTestId(testId).boundingBox();
      const inside =
        box !== null &&
        box.x >= 0 &&
        box.y >= 0 &&
        box.x + box.width <= popupSize.width &&
        box.y + box.height <= popupSize.height;
      placed.push({ testId, box, inside });
    }
    const { scrollHeight, scrollWidth } = await this.page.evaluate(() => {
      const root = document.scrollingElement ?? document.documentElement;
      return { scrollHeight: root.scrollHeight, scrollWidth: root.scrollWidth };
    });
    return { scrollHeight, scrollWidth, placed };
  }

  /**
   * Sends a message to the background as the extension's own pages do (the labeling page submits
   * labels this way); answers the reply envelope.
   */
  async sendMessage(type: string, data: unknown): Promise<unknown> {
    return this.page.evaluate(
      ([messageType, messageData]) => {
        type ExtensionGlobal = { chrome: { runtime: { sendMessage: (message: unknown) => Promise<unknown> } } };
        return (globalThis as unknown as ExtensionGlobal).chrome.runtime.sendMessage({
          type: messageType,
          data: messageData,
        });
      },
      [type, data] as const,
    );
  }
}
