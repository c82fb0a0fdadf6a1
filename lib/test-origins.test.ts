import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTestOrigins, parseTestOrigins } from './test-origins';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('test origins', () => {
  it('are none in a build without GLEANER_TEST_ORIGINS', () => {
    expect(buildTestOrigins).toEqual([]);
    expect(parseTestOrigins(undefined)).toEqual([]);
    expect(parseTestOrigins('')).toEqual([]);
  });

  it('keep exact 127.0.0.1 origins and drop anything else', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(
      parseTestOrigins(
        ' http://127.0.0.1:4321 ,http://localhost:80,https://127.0.0.1:1,http://127.0.0.1:5/x,http://10.0.0.1:80,http://127.0.0.1:8787',
      ),
    ).toEqual(['http://127.0.0.1:4321', 'http://127.0.0.1:8787']);
  });
});
