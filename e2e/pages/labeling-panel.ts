import { expect, type Locator, type Page } from '@playwright/test';

/** The labeling part of the popup: one task at a time, driven from the keyboard. */
export class LabelingPanel {
  readonly task: Locator;
  readonly text: Locator;
  readonly goldAccuracy: Locator;
  readonly points: Locator;
  readonly noTasks: Locator;
  readonly keysHelp: Locator;

  constructor(readonly page: Page) {
    this.task = page.getByTestId('label-task');
    this.text = page.getByTestId('task-text');
    this.goldAccuracy = page.getByTestId('gold-accuracy');
    this.points = page.getByTestId('label-points');
    this.noTasks = page.getByTestId('no-tasks');
    this.keysHelp = page.getByTestId('keys-help');
  }

  /** The task shown now: its assignment id (to tell tasks apart) and its text. */
  async current(): Promise<{ id: string; text: string }> {
    await this.task.waitFor();
    return {
      id: (await this.task.getAttribute('data-assignment-id')) ?? '',
      text: ((await this.text.textContent()) ?? '').trim(),
    };
  }

  /** Chooses with a number key, sees the choice marked as chosen, and submits with Enter, as a labeler would. */
  async answerWithKeys(choiceNumber: number): Promise<void> {
    await this.page.keyboard.press(String(choiceNumber));
    await expect(this.page.getByTestId(`choice-${choiceNumber}`)).toHaveAttribute('aria-pressed', 'true');
    await this.page.keyboard.press('Enter');
  }
}
