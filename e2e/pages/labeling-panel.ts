import { type BrowserContext, expect, type Locator, type Page } from '@playwright/test';

/** The labeling part of the popup: one task at a time, driven from the keyboard. */
export class LabelingPanel {
  readonly task: Locator;
  readonly text: Locator;
  readonly goldAccuracy: Locator;
  readonly points: Locator;
  readonly noTasks: Locator;
  readonly keysHelp: Locator;
  /** Labeling page only: undo, the recent labels, the project choice and its progress, instructions. */
  readonly undo: Locator;
  readonly undoWindow: Locator;
  readonly recentLabels: Locator;
  readonly projectChoice: Locator;
  readonly projectProgress: Locator;
  readonly instructions: Locator;
  readonly examples: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.task = page.getByTestId('label-task');
    this.text = page.getByTestId('task-text');
    this.goldAccuracy = page.getByTestId('gold-accuracy');
    this.points = page.getByTestId('label-points');
    this.noTasks = page.getByTestId('no-tasks');
    this.keysHelp = page.getByTestId('keys-help');
    this.undo = page.getByTestId('undo-label');
    this.undoWindow = page.getByTestId('undo-window');
    this.recentLabels = page.getByTestId('recent-label');
    this.projectChoice = page.getByTestId('project-choice');
    this.projectProgress = page.getByTestId('project-progress');
    this.instructions = page.getByTestId('instructions');
    this.examples = page.getByTestId('example');
    this.error = page.getByRole('alert');
  }

  /** Opens labeling as its own page (/labeling.html), as the popup's button does. */
  static async openPage(context: BrowserContext, extensionId: string): Promise<LabelingPanel> {
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/labeling.html`);
    return new LabelingPanel(page);
  }

  /** The recent label of a task, with its state in `data-state` (queued, sending, accepted, …). */
  recentLabel(assignmentId: string): Locator {
    return this.page.locator(`[data-testid="recent-label"][data-assignment-id="${assignmentId}"]`);
  }

  /** The task shown now: its assignment id (to tell tasks apart) and its text. */
  async current(): Promise<{ id: string; text: string }> {
    await this.task.waitFor();
    return {
      id: (await this.task.getAttribute('data-assignment-id')) ?? '',
      text: ((await this.text.textContent()) ?? '').trim(),
    };
  }

  /**
   * Whether the task `assignmentId` has been replaced by another task or by the empty state. Reads
   * without waiting: a locator that auto-waits for the task would hang once the empty state replaces it.
   */
  async hasMovedOn(assignmentId: string): Promise<boolean> {
    const shown = await this.task.evaluateAll((tasks) => tasks.map((task) => task.getAttribute('data-assignment-id')));
    if (shown.length > 0) return shown[0] !== assignmentId;
    return this.noTasks.isVisible();
  }

  /** Chooses with a number key, sees the choice marked as chosen, and submits with Enter, as a labeler would. */
  async answerWithKeys(choiceNumber: number): Promise<void> {
    await this.page.keyboard.press(String(choiceNumber));
    await expect(this.page.getByTestId(`choice-${choiceNumber}`)).toHaveAttribute('aria-pressed', 'true');
    await this.page.keyboard.press('Enter');
  }
}
