import { randomUUID } from 'node:crypto';
import { labelColumns } from '@protocol/dataset-rows';
import { type Dataset, datasetSchema } from '@protocol/datasets';
import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { registerDevice, upload } from '../test/scrape-fixtures';
import { type TemporaryDatasetSettings, temporaryDatasetSettings } from './temporary-dataset-settings';
import { createBuyer } from './test-fixtures';

/** The right answer for an item whose text ends in a number: even positive, odd negative. */
const truth = (text: string) => (Number(/(\d+)$/.exec(text)?.[1]) % 2 === 0 ? 'positive' : 'negative');

describeEachDatabase('label datasets: items with their content, aggregate and raw labels, frozen', (database) => {
  let app: FastifyInstance;
  let settings: TemporaryDatasetSettings;
  let buyer: { key: string; id: string };
  const as = () => ({ authorization: `Bearer ${buyer.key}` });

  /** A labeler answers every task it is given; `wrongOn` items get the other answer. */
  const labelAll = async (labeler: LocalAccount, wrongOn: (text: string) => boolean = () => false) => {
    for (let round = 0; round < 50; round += 1) {
      const response = await signedInject(app, labeler, { method: 'POST', url: '/v1/tasks/lease', body: { max: 10 } });
      const tasks = (response.json() as { tasks: LeasedTask[] }).tasks;
      if (tasks.length === 0) return;
      await upload(
        app,
        labeler,
        tasks.map((task) => {
          const text = task.content.type === 'text' ? task.content.text : '';
          const right = truth(text);
          return {
            kind: 'label',
            assignmentId: task.assignmentId,
            labeledAt: new Date().toISOString(),
            answer: {
              type: 'single_choice',
              choice: wrongOn(text) ? (right === 'positive' ? 'negative' : 'positive') : right,
            },
          };
        }),
        randomUUID(),
      );
    }
  };
  const build = async (projectId: string): Promise<Dataset> => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: as(),
      payload: { source: { kind: 'project', projectId }, options: { verification: 'all' } },
    });
    expect(created.statusCode, created.body).toBe(201);
    await app.workQueue.drain();
    const read = await app.inject({ method: 'GET', url: `/v1/datasets/${created.json().id}`, headers: as() });
    const dataset = datasetSchema.parse(read.json());
    expect(dataset.state, dataset.error ?? '').toBe('ready');
    return dataset;
  };
  const rowsOf = async (dataset: Dataset) => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/datasets/${dataset.id}/files/data/train-00000-of-00001.parquet`,
      headers: as(),
    });
    const bytes = response.rawPayload;
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    return { file, rows: await parquetReadObjects({ file, compressors }) };
  };

  beforeAll(async () => {
    settings = await temporaryDatasetSettings();
    app = await buildTestApp(
      database(),
      {},
      { datasets: settings, work: { concurrency: 1, pollMs: 0, labelSettleMs: 0 } },
    );
    buyer = await createBuyer(app, 'Label Buyer');
  });
  afterAll(async () => {
    await app.close();
    await settings.storage.close();
  });

  it('writes each item with its content, aggregate, agreement and every raw label with pseudonymous labelers', async () => {
    const items = Array.from({ length: 6 }, (_, i) => ({
      id: `item-${i}`,
      content: { type: 'text', text: `review ${i}` },
    }));
    const gold = Array.from({ length: 4 }, (_, i) => ({
      id: `gold-${i}`,
      content: { type: 'text', text: `gold review ${i + 10}` },
      gold: { type: 'single_choice', choice: truth(`x ${i + 10}`) },
    }));
    const created = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: as(),
      payload: {
        name: 'sentiment',
        instructions: 'Label the sentiment.',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative', 'neutral'] },
        overlap: 3,
        goldRate: 0.5,
        items: [...items, ...gold],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const projectId = (created.json() as { project: { id: string } }).project.id;
    const labelers = [await registerDevice(app), await registerDevice(app), await registerDevice(app)];
    await labelAll(labelers[0] as LocalAccount);
    await labelAll(labelers[1] as LocalAccount);
    // The third labeler is wrong on review 1 (that item's agreement is 2/3) and on one check question.
    await labelAll(labelers[2] as LocalAccount, (text) => text === 'review 1' || text === 'gold review 10');
    await app.workQueue.drain();

    // The buyer sees each labeler's quality: gold record and standing by the payment rule, and agreement.
    const quality = await app.inject({ method: 'GET', url: `/v1/projects/${projectId}/labelers`, headers: as() });
    expect(quality.statusCode, quality.body).toBe(200);
    const standing = (quality.json() as { labelers: Array<Record<string, unknown>> }).labelers;
    // Labelers appear under this project's pseudonyms, never their device addresses.
    for (const entry of standing) {
      expect(entry.labeler).toMatch(/^[0-9a-f]{32}$/);
      expect(labelers.map((l) => l.address.toLowerCase().slice(2))).not.toContain(entry.labeler);
    }
    const third = standing.find((entry) => entry.goldCorrect === 3);
    expect(standing, JSON.stringify(standing)).toHaveLength(3);
    expect(third, JSON.stringify(standing)).toBeDefined();
    expect(third).toMatchObject({
      labels: 6,
      goldAnswered: 4,
      goldCorrect: 3,
      goldAccuracy: 0.75,
      counted: true,
      compared: 6,
    });
    expect(third?.agreement).toBeCloseTo(5 / 6, 6);
    for (const entry of standing.filter((e) => e !== third)) {
      expect(entry).toMatchObject({ labels: 6, goldAnswered: 4, goldAccuracy: 1, agreement: 1 });
    }

    const dataset = await build(projectId);
    const { file, rows } = await rowsOf(dataset);
    // Gold items are the buyer's own checks, not data: six items, in upload order.
    expect(rows.map((row) => row.item_id)).toEqual(items.map((item) => item.id));
    expect(parquetSchema(parquetMetadata(file)).children.map((child) => child.element.name)).toEqual(
      labelColumns.map((column) => column.name),
    );
    for (const [index, row] of rows.entries()) {
      expect(JSON.parse(row.content as string)).toEqual({ type: 'text', text: `review ${index}` });
      expect(row.label).toBe(truth(`review ${index}`));
      const raw = row.raw_labels as Array<{ labeler: string; value: string; gold_accuracy: number | null }>;
      expect(raw).toHaveLength(3);
      for (const label of raw) {
        expect(label.labeler).toMatch(/^[0-9a-f]{32}$/);
        expect(labelers.map((l) => l.address.toLowerCase().slice(2))).not.toContain(label.labeler);
        expect(JSON.parse(label.value)).toMatchObject({ type: 'single_choice' });
      }
      expect(new Set(raw.map((label) => label.labeler)).size).toBe(3);
      // Each labeler's gold accuracy as the payment rule has it at the snapshot.
      expect(raw.map((label) => label.gold_accuracy).sort()).toEqual([0.75, 1, 1]);
      expect(row.agreement).toBeCloseTo(index === 1 ? 2 / 3 : 1, 6);
    }

    // Frozen: a label that arrives after the build changes nothing in it; a new build has it.
    const late = await registerDevice(app);
    await database().query('update project_items set complete = false where project_id = $1', [projectId]);
    await database().query('update projects set overlap = 4 where id = $1', [projectId]);
    await labelAll(late);
    await app.workQueue.drain();
    const again = await rowsOf(dataset);
    expect(again.rows).toEqual(rows);
    const rebuilt = await rowsOf(await build(projectId));
    expect(rebuilt.rows[0]?.raw_labels).toHaveLength(4);
  });
});
