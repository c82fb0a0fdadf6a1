import { describe, expect, it } from 'vitest';
import { encodeLabels } from './encode-labels';

describe('encodeLabels', () => {
  it('numbers workers and items by first appearance and sorts classes so input order does not matter', () => {
    const encoded = encodeLabels([
      { worker: 'w2', item: 'x', label: 'dog' },
      { worker: 'w1', item: 'x', label: 'cat' },
      { worker: 'w1', item: 'y', label: 'dog' },
    ]);
    expect(encoded.workers).toEqual(['w2', 'w1']);
    expect(encoded.items).toEqual(['x', 'y']);
    expect(encoded.classes).toEqual(['cat', 'dog']);
    expect([...encoded.worker]).toEqual([0, 1, 1]);
    expect([...encoded.item]).toEqual([0, 0, 1]);
    expect([...encoded.label]).toEqual([1, 0, 1]);
    expect([...encoded.gold]).toEqual([-1, -1]);
  });

  it('keeps the schema class order and marks gold items', () => {
    const encoded = encodeLabels([{ worker: 'w', item: 'x', label: 'b' }], {
      classes: ['c', 'b', 'a'],
      gold: new Map([
        ['x', 'a'],
        ['not-labeled', 'c'],
      ]),
    });
    expect(encoded.classes).toEqual(['c', 'b', 'a']);
    expect([...encoded.gold]).toEqual([2]);
  });

  it('rejects a worker who labeled the same item twice, naming both', () => {
    const labels = [
      { worker: 'w1', item: 'x', label: 'a' },
      { worker: 'w2', item: 'y', label: 'a' },
      { worker: 'w1', item: 'x', label: 'b' },
    ];
    expect(() => encodeLabels(labels)).toThrow('Worker "w1" labeled item "x" more than once.');
  });

  it('rejects a label or gold answer outside the schema classes', () => {
    expect(() => encodeLabels([{ worker: 'w', item: 'x', label: 'maybe' }], { classes: ['yes', 'no'] })).toThrow(
      /label "maybe", which is not one of yes, no/,
    );
    expect(() =>
      encodeLabels([{ worker: 'w', item: 'x', label: 'yes' }], { classes: ['yes', 'no'], gold: new Map([['x', 'y']]) }),
    ).toThrow(/Gold item "x" has the label "y"/);
  });
});
