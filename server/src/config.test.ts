import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

describe('server configuration', () => {
  it('defaults to embedded PGlite on 127.0.0.1:8787', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8787, host: '127.0.0.1', databaseUrl: undefined });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', GLEANER_OPERATOR_TOKEN: 'short' })).toThrow(
      /PORT[\s\S]*DATABASE_URL: must start with postgres[\s\S]*GLEANER_OPERATOR_TOKEN/,
    );
  });
});
