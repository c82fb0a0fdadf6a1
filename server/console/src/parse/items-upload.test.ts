import type { LabelSchema } from '@protocol/labeling';
import { describe, expect, it } from 'vitest';
import { parseItemUpload } from './items-upload';

const sentiment: LabelSchema = { type: 'single_choice', choices: ['positive', 'negative'] };

describe('parseItemUpload', () => {
  it('reads JSONL items and names each bad line with why, keeping the good ones', () => {
    const jsonl = [
      '{"id":"1","content":{"type":"text","text":"Great"}}',
      '',
      '{"id":"2","content":{"type":"text","text":""}}',
      '{"id":"3", oops}',
      '{"id":"4","content":{"type":"text","text":"Bad"},"gold":{"type":"single_choice","choice":"negative"}}',
      '{"id":"5","content":{"type":"text","text":"Meh"},"gold":{"type":"single_choice","choice":"neutral"}}',
    ].join('\n');
    const upload = parseItemUpload(jsonl, 'jsonl', sentiment);
    expect(upload.items.map((item) => item.id)).toEqual(['1', '4']);
    expect(upload.lines).toEqual([1, 5]);
    expect(upload.problems.map((problem) => problem.line)).toEqual([3, 4, 6]);
    expect(upload.problems[0]?.message).toMatch(/^content\.text: /);
    expect(upload.problems[1]?.message).toMatch(/^not JSON/);
    expect(upload.problems[2]?.message).toBe('gold names "neutral", not one of: positive, negative');
  });

  it('reads CSV items of every content kind, with gold in the short form of the schema', () => {
    const pairwise: LabelSchema = { type: 'pairwise' };
    const csv = 'id,prompt,answer_a,answer_b,gold\np1,"Say hi, please",Hi,Hello,b\np2,Q,A,B,left\np3,Q,,B,\n';
    const upload = parseItemUpload(csv, 'csv', pairwise);
    expect(upload.items).toEqual([
      {
        id: 'p1',
        content: { type: 'pairwise', prompt: 'Say hi, please', answers: ['Hi', 'Hello'] },
        gold: { type: 'pairwise', preferred: 'b' },
      },
    ]);
    expect(upload.problems).toEqual([
      { line: 3, message: 'gold for a pairwise project is a, b or tie, not "left"' },
      { line: 4, message: expect.stringMatching(/^content\.answers\.0: /) },
    ]);
  });

  it('splits multiple-choice gold on | and checks spans gold against the labels', () => {
    const multi: LabelSchema = { type: 'multi_choice', choices: ['red', 'green', 'blue'] };
    const upload = parseItemUpload('id,text,gold\n1,leaf,green | blue\n', 'csv', multi);
    expect(upload.items[0]?.gold).toEqual({ type: 'multi_choice', choices: ['green', 'blue'] });

    const spans: LabelSchema = { type: 'spans', labels: ['PER'] };
    const bad = parseItemUpload(
      'id,text,gold\n1,Ada wrote,"[{""start"":4,""end"":2,""label"":""PER""}]"\n',
      'csv',
      spans,
    );
    expect(bad.problems).toEqual([{ line: 2, message: 'a gold span ends before it starts' }]);
  });

  it('refuses a gold file line without a known answer, and a CSV without an id column', () => {
    const gold = parseItemUpload('id,text,gold\n1,Great,positive\n2,Bad,\n', 'csv', sentiment, { requireGold: true });
    expect(gold.items.map((item) => item.id)).toEqual(['1']);
    expect(gold.problems).toEqual([{ line: 3, message: 'a gold item needs its known answer (gold)' }]);

    expect(parseItemUpload('text\nhello\n', 'csv', sentiment).problems).toEqual([
      { line: 1, message: 'the first row must name the columns, with an id column' },
    ]);
  });
});
