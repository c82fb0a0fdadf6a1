import type { BrowserContext, Download, Locator, Page } from '@playwright/test';

/** The buyer console served by the server at `/`, driven the way a buyer does: by labels and roles. */
export class ConsolePage {
  constructor(
    readonly page: Page,
    readonly serverUrl: string,
  ) {}

  static async open(
    context: BrowserContext,
    serverUrl: string,
    path = '/campaigns',
    retry = true,
  ): Promise<ConsolePage> {
    const page = await context.newPage();
    try {
      await page.goto(`${serverUrl}/#${path}`);
    } catch (error) {
      // A fresh install opens the extension's options page, which can take over the tab just opened: open another.
      if (!retry || !String(error).includes('interrupted by another navigation')) throw error;
      return ConsolePage.open(context, serverUrl, path, false);
    }
    return new ConsolePage(page, serverUrl);
  }

  /** Signs in with an API key on the sign-in form the buyer pages show when no key is kept. */
  async signIn(apiKey: string): Promise<void> {
    await this.page.getByLabel('API key').fill(apiKey);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
    await this.page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  /** Creates a campaign from a URL list and opens it; returns the campaign's id from the page URL. */
  async createCampaignFromUrls(name: string, urls: string[]): Promise<string> {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await this.page.getByRole('link', { name: 'New campaign' }).click();
    await this.page.getByLabel('Name').fill(name);
    await this.page.getByLabel('URLs, one per line').fill(urls.join('\n'));
    await this.page.getByRole('button', { name: 'Create campaign' }).click();
    await this.page.getByRole('link', { name: 'Open the campaign' }).click();
    await this.page.waitForURL(/#\/campaigns\/[0-9a-f-]{36}$/);
    return this.page.url().split('/').pop() ?? '';
  }

  get workState(): Locator {
    return this.page.getByTestId('work-state');
  }

  campaignProgress(): Locator {
    return this.page.getByRole('progressbar', { name: 'Campaign progress' });
  }

  failures(): Locator {
    return this.page.getByRole('table', { name: 'Why pages failed, most frequent first' });
  }

  storedPages(): Locator {
    return this.page.getByRole('table', { name: 'Pages stored for this campaign, oldest first' });
  }

  /** Starts a dataset build from a campaign with the chosen rows and opens its page. */
  async buildDataset(
    campaignName: string,
    { rows }: { rows: 'Only verified rows' | 'All stored rows, with their verification state' },
  ) {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Datasets' }).click();
    await this.page.getByRole('link', { name: 'New dataset' }).click();
    const source = this.page.getByLabel('Source');
    await source.locator('option', { hasText: campaignName }).waitFor({ state: 'attached' });
    await source.selectOption({ label: campaignName });
    await this.page.getByLabel('Rows', { exact: true }).selectOption({ label: rows });
    await this.page.getByRole('button', { name: 'Build dataset' }).click();
    await this.page.waitForURL(/#\/datasets\/[0-9a-f-]{36}$/);
  }

  get datasetState(): Locator {
    return this.page.getByTestId('dataset-state');
  }

  buildProgress(): Locator {
    return this.page.getByRole('progressbar', { name: 'Build progress' });
  }

  filesTable(): Locator {
    return this.page.getByRole('table', { name: 'Files of the dataset' });
  }

  /** The files table row of one path, and its cells in column order. */
  fileRow(path: string): Locator {
    return this.filesTable().getByRole('row').filter({ hasText: path });
  }

  /** Clicks a file's download link and waits for the browser's download. */
  async download(path: string): Promise<Download> {
    const downloading = this.page.waitForEvent('download');
    await this.page.getByRole('link', { name: `Download ${path}` }).click();
    return downloading;
  }

  snippet(title: 'pandas' | 'DuckDB' | 'Hugging Face datasets'): Locator {
    return this.page.getByTestId(`snippet-${title}`);
  }
}
