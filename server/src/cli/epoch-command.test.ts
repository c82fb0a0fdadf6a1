import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addDevice, creditPoints, newAddress } from '../rewards/test-ledger';
import { buildTestApp, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { runCli } from './run-cli';

describeEachDatabase('epoch CLI', (database) => {
  let app: FastifyInstance;
  let serverUrl: string;
  let folder: string;
  const wallet = newAddress();
  const paid: string[] = [];

  beforeAll(async () => {
    app = await buildTestApp(database());
    serverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    folder = await mkdtemp(join(tmpdir(), 'gleaner-epoch-cli-'));
    const db = database();
    for (const [index, owner] of [wallet, newAddress(), newAddress()].entries()) {
      paid.push(await creditPoints(db, await addDevice(db, owner), 7 * (index + 1)));
    }
  });
  afterAll(async () => {
    await app.close();
    await rm(folder, { recursive: true, force: true });
  });

  async function cli(argv: string[], withServer = true) {
    let out = '';
    let err = '';
    const code = await runCli(withServer ? [...argv, '--server', serverUrl] : argv, {
      env: { GLEANER_OPERATOR_TOKEN: testOperatorToken },
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
    });
    return { code, out, err };
  }

  async function download(epoch: number): Promise<{ path: string; bytes: Buffer }> {
    const response = await app.inject({ method: 'GET', url: `/v1/epochs/${epoch}/file` });
    const path = join(folder, `epoch-${epoch}.json`);
    await writeFile(path, response.rawPayload);
    return { path, bytes: response.rawPayload };
  }

  it('closes, lists and reverses through the admin API', async () => {
    const closed = await cli(['epoch', 'close']);
    expect(closed.code, closed.err).toBe(0);
    expect(closed.out).toMatch(/^Closed\nepoch 1 .* 3 wallets {2}42 points/);
    const again = await cli(['epoch', 'close', '--epoch', '1']);
    expect(again.out).toMatch(/^Nothing closed \(epoch 1 was closed before\)\. Existing:\nepoch 1 /);
    const list = await cli(['epoch', 'list', '--json']);
    expect(JSON.parse(list.out).epochs).toHaveLength(1);
    const reversed = await cli([
      'ledger',
      'reverse',
      paid[0] as string,
      'page:missing',
      '--reason',
      'audit failed late',
    ]);
    expect(reversed.code).toBe(1);
    expect(reversed.out).toBe(`reversed  ${paid[0]}\nskipped   page:missing: no ledger row has this reference\n`);
    const noReason = await cli(['ledger', 'reverse', paid[1] as string]);
    expect(noReason.code).toBe(1);
    expect(noReason.err).toMatch(/needs --reason/);
    expect((await cli(['epoch', 'close'])).out).toMatch(/^Closed\nepoch 2 /);
  });

  it('verifies the published files with no server, the second against the first', async () => {
    const first = await download(1);
    const second = await download(2);
    const summary = (await app.inject({ method: 'GET', url: '/v1/epochs/2' })).json();
    const checked = await cli(['epoch', 'verify', second.path, '--previous', first.path], false);
    expect(checked.err).toBe('');
    expect(checked.code).toBe(0);
    expect(checked.out).toBe(
      `root        ${summary.root}\ncontent id  ${summary.contentId}\nOK: every amount, total and the root follow from the file and the previous one.\n`,
    );
    expect((await cli(['epoch', 'verify', first.path], false)).code).toBe(0);
  });

  it('names a tampered amount, and the root that no longer matches', async () => {
    const { bytes } = await download(1);
    const file = JSON.parse(bytes.toString());
    const line = file.wallets.find((candidate: { address: string }) => candidate.address === wallet);
    line.amount = (BigInt(line.amount) + 1000n).toString();
    line.cumulative = line.amount;
    const path = join(folder, 'tampered.json');
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    const checked = await cli(['epoch', 'verify', path], false);
    expect(checked.code).toBe(1);
    expect(checked.err).toContain(`wallet ${wallet}: amount is ${line.amount}, the rules give`);
    expect(checked.err).toMatch(/root is 0x[0-9a-f]{64}, but the wallets' tree has root 0x/);
  });

  it('names a missing wallet and a broken link to the previous epoch', async () => {
    const first = await download(1);
    const { bytes } = await download(2);
    const file = JSON.parse(bytes.toString());
    const dropped = file.wallets.pop();
    file.previous.root = `0x${'0'.repeat(64)}`;
    const path = join(folder, 'dropped.json');
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    const checked = await cli(['epoch', 'verify', path, '--previous', first.path], false);
    expect(checked.code).toBe(1);
    expect(checked.err).toContain(`wallet ${dropped.address} was in epoch 1 but is missing`);
    expect(checked.err).toContain('previous is {"epoch":1,"root":"0x000');
  });

  it('explains a file that is not an epoch file', async () => {
    const path = join(folder, 'not-json.json');
    await writeFile(path, 'hello');
    const notJson = await cli(['epoch', 'verify', path], false);
    expect(notJson.code).toBe(1);
    expect(notJson.err).toMatch(/the file is not JSON/);
    await writeFile(path, '{"format":"gleaner-epoch-v1"}\n');
    const partial = await cli(['epoch', 'verify', path], false);
    expect(partial.err).toMatch(/the file: epoch: /);
    const missing = await cli(['epoch', 'verify', join(folder, 'nope.json')], false);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/Cannot read .*nope\.json/);
  });
});
