import type { LeasedTask } from '@protocol/labeling';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import type { Reply } from '@/lib/messages';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { TaskContent } from './task-content';

freshFakeBrowserForEachTest();
afterEach(cleanup);

const pngDataUrl =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function imageTask(assignmentId: string, imageUrl: string): LeasedTask {
  return {
    assignmentId,
    projectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    projectName: 'Pets',
    instructions: 'Cat or dog?',
    labelSchema: { type: 'single_choice', choices: ['cat', 'dog'] },
    content: { type: 'image', imageUrl, caption: 'A pet on a sofa' },
    expiresAt: '2025-06-01T12:15:00.000Z',
  };
}

/** A fake background that answers each `loadTaskImage` with what the test resolves, and records what was asked. */
function fakeImageBackground() {
  const asked: unknown[] = [];
  const pending: Array<(reply: Reply) => void> = [];
  fakeBrowser.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    asked.push(message);
    pending.push(sendResponse as (reply: Reply) => void);
    return true;
  });
  return {
    asked,
    answer(reply: Reply) {
      const respond = pending.shift();
      if (!respond) throw new Error('no request is waiting');
      respond(reply);
    },
  };
}

/** Every image source on the page that is not inline bytes: there must be none (no remote address). */
const remoteImageSources = () =>
  Array.from(document.querySelectorAll('img'))
    .map((img) => img.getAttribute('src') ?? '')
    .filter((src) => !src.startsWith('data:image/'));

describe('a task image', () => {
  it('shows a loading note, then the image the background fetched, as bytes, never from the buyer’s address', async () => {
    const background = fakeImageBackground();
    render(<TaskContent task={imageTask('7', 'http://192.168.1.1/cgi-bin/cat.png')} spans={[]} />);
    expect(screen.getByTestId('task-image-loading').textContent).toBe('Loading the image…');
    expect(document.querySelectorAll('img')).toHaveLength(0);
    await waitFor(() => expect(background.asked).toEqual([{ type: 'loadTaskImage', data: { assignmentId: '7' } }]));

    background.answer({ ok: true, data: { status: 'loaded', dataUrl: pngDataUrl } });
    const image = (await screen.findByTestId('task-image')) as HTMLImageElement;
    expect(image.getAttribute('src')).toBe(pngDataUrl);
    expect(image.alt).toBe('A pet on a sofa');
    expect(remoteImageSources()).toEqual([]);
  });

  it('says why an image could not be loaded safely, and shows none', async () => {
    const background = fakeImageBackground();
    render(<TaskContent task={imageTask('7', 'http://169.254.169.254/latest/meta-data/')} spans={[]} />);
    await waitFor(() => expect(background.asked).toHaveLength(1));
    background.answer({
      ok: true,
      data: { status: 'refused', reason: '169.254.169.254 is a link-local address; Gleaner never fetches it.' },
    });
    expect((await screen.findByTestId('task-image-refused')).textContent).toBe(
      'This image could not be loaded safely: 169.254.169.254 is a link-local address; Gleaner never fetches it.',
    );
    expect(document.querySelectorAll('img')).toHaveLength(0);
  });

  it('shows no image when the answer is a remote address instead of bytes', async () => {
    const background = fakeImageBackground();
    render(<TaskContent task={imageTask('7', 'https://images.example/cat.png')} spans={[]} />);
    await waitFor(() => expect(background.asked).toHaveLength(1));
    background.answer({ ok: true, data: { status: 'loaded', dataUrl: 'https://images.example/cat.png' } });
    expect((await screen.findByTestId('task-image-refused')).textContent).toMatch(
      /^This image could not be loaded safely: /,
    );
    expect(document.querySelectorAll('img')).toHaveLength(0);
  });

  it('says so when the background fails, and loads afresh for the next task', async () => {
    const background = fakeImageBackground();
    const { rerender } = render(<TaskContent task={imageTask('7', 'https://images.example/a.png')} spans={[]} />);
    await waitFor(() => expect(background.asked).toHaveLength(1));
    background.answer({
      ok: false,
      error: { code: 'internal_error', message: 'Something went wrong inside Gleaner.' },
    });
    expect((await screen.findByTestId('task-image-refused')).textContent).toBe(
      'This image could not be loaded safely: Something went wrong inside Gleaner.',
    );

    rerender(<TaskContent task={imageTask('8', 'https://images.example/b.png')} spans={[]} />);
    expect(screen.getByTestId('task-image-loading')).toBeDefined();
    await waitFor(() => expect(background.asked).toHaveLength(2));
    background.answer({ ok: true, data: { status: 'loaded', dataUrl: pngDataUrl } });
    expect((await screen.findByTestId('task-image')).getAttribute('src')).toBe(pngDataUrl);
    expect(remoteImageSources()).toEqual([]);
  });
});
