import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { runCli } from './run-cli';

describeEachDatabase('operator CLI against a listening server', (database) => {
  let app: FastifyInstance;
  let serverUrl: string;
  beforeAll(async () => {
    app = await buildTestApp(database());
    serverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
  });

  const cli = async (args: string[], env: NodeJS.ProcessEnv = { GLEANER_OPERATOR_TOKEN: testOperatorToken }) => {
    let out = '';
    let err = '';
    const code = await runCli([...args, '--server', serverUrl], {
      env,
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
    });
    return { code, out, err };
  };

  it('creates a buyer whose printed key works, then revokes it', async () => {
    const created = await cli(['buyer', 'create', '--name', 'CLI Buyer']);
    expect(created.code).toBe(0);
    const apiKey = /API key \(shown once, store it now\): (\S+)/.exec(created.out)?.[1];
    const keyId = /Key id \(for revoking\): (\S+)/.exec(created.out)?.[1];
    expect(apiKey).toBeDefined();
    const use = () => fetch(`${serverUrl}/v1/buyer`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect((await use()).status).toBe(200);

    const listed = await cli(['buyer', 'list']);
    expect(listed.out).toContain('CLI Buyer');
    expect(listed.out).not.toContain(apiKey);

    const revoked = await cli(['key', 'revoke', keyId ?? '']);
    expect(revoked.code).toBe(0);
    expect((await use()).status).toBe(401);
    expect((await cli(['buyer', 'list'])).out).toContain('REVOKED');
  });

  it('says plainly when the operator token is wrong or the server is down', async () => {
    const wrong = await cli(['devices'], { GLEANER_OPERATOR_TOKEN: 'x'.repeat(30) });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/operator token/);
    let err = '';
    const down = await runCli(['status', '--server', 'http://127.0.0.1:9'], {
      env: {},
      out: () => {},
      err: (text) => {
        err += text;
      },
    });
    expect(down).toBe(1);
    expect(err).toMatch(/No Gleaner server answered/);
  });

  it('runs the chain commands it loads only when asked (epoch publish, dataset commit) and says what is missing', async () => {
    const env = { GLEANER_OPERATOR_TOKEN: testOperatorToken, GLEANER_DATA_DIR: '/nonexistent/gleaner-cli-test' };
    const publish = await cli(['epoch', 'publish', 'latest'], env);
    expect(publish.code).toBe(1);
    expect(publish.err).toMatch(/^Error: No local chain in \/nonexistent\/gleaner-cli-test/);
    const commit = await cli(['dataset', 'commit', 'no-such-dataset'], env);
    expect(commit.code).toBe(1);
    expect(commit.err).toMatch(/^Error: no-such-dataset is not a dataset id/);
  });

  it('prints usage for an unknown command', async () => {
    const result = await cli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/Unknown command: frobnicate/);
  });
});

it('check-url says which URLs may be fetched and which rule blocks the others', async () => {
  let out = '';
  const code = await runCli(['check-url', 'https://example.com/a#x', 'http://2130706433/', 'http://printer.local/'], {
    env: {},
    out: (text) => {
      out += text;
    },
    err: () => {},
  });
  expect(code).toBe(1);
  expect(out).toContain('allowed  https://example.com/a#x  → https://example.com/a');
  expect(out).toMatch(/BLOCKED {2}http:\/\/2130706433\/ {2}\[ip_not_public\] 127\.0\.0\.1 is a loopback address/);
  expect(out).toMatch(/BLOCKED {2}http:\/\/printer\.local\/ {2}\[host_local_name\]/);
});
