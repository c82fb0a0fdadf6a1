import { describe, expect, it } from 'vitest';
import { majorityVote } from './majority-vote';

const label = (worker: string, item: string, value: string) => ({ worker, item, label: value });

describe('majorityVote', () => {
  it('picks the most common label with its vote share as confidence', () => {
    const result = majorityVote([label('w1', 'x', 'cat'), label('w2', 'x', 'cat'), label('w3', 'x', 'dog')]);
    expect(result.classes).toEqual(['cat', 'dog']);
    expect(result.items).toEqual([
      { item: 'x', label: 'cat', confidence: 2 / 3, posterior: { cat: 2 / 3, dog: 1 / 3 }, labels: 3, tied: false },
    ]);
  });

  it('lists every schema class in the posterior, even one nobody chose', () => {
    const result = majorityVote([label('w1', 'x', 'yes')], { classes: ['yes', 'no', 'unsure'] });
    expect(result.items[0]?.posterior).toEqual({ yes: 1, no: 0, unsure: 0 });
  });

  it('breaks a tie toward the class chosen more often overall, flags it, and ignores input order', () => {
    const labels = [
      label('w1', 'tied', 'zebra'),
      label('w2', 'tied', 'ant'),
      // "zebra" is the more common answer overall, so it wins the tie although "ant" sorts first.
      label('w1', 'other', 'zebra'),
      label('w2', 'other', 'zebra'),
    ];
    const forward = majorityVote(labels);
    const backward = majorityVote([...labels].reverse());
    const tied = forward.items.find((item) => item.item === 'tied');
    expect(tied).toMatchObject({ label: 'zebra', confidence: 0.5, tied: true });
    expect(backward.items.find((item) => item.item === 'tied')).toEqual(tied);
    expect(forward.items.find((item) => item.item === 'other')?.tied).toBe(false);
  });

  it('breaks a tie by class order when the classes are equally common', () => {
    const result = majorityVote([label('w1', 'x', 'b'), label('w2', 'x', 'a')]);
    expect(result.items[0]).toMatchObject({ label: 'a', tied: true });
  });
});
