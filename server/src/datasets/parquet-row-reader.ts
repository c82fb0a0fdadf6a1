import { type AsyncBuffer, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { DatasetStorage } from './storage/dataset-storage';

/**
 * Reads one row of a stored Parquet file as the canonical row object (the values its row hash is computed
 * over), fetching only the footer and the pages of the row group that holds it. Proofs are answered from
 * the published file itself, so a proof vouches for what buyers download, not for a copy kept aside.
 */
export async function readParquetRow(
  storage: DatasetStorage,
  key: string,
  bytes: number,
  row: number,
): Promise<Record<string, unknown>> {
  const file: AsyncBuffer = {
    byteLength: bytes,
    async slice(start: number, end?: number) {
      const stop = Math.min(end ?? bytes, bytes);
      const chunk = await storage.readBytes(key, start, stop - start);
      return chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
    },
  };
  const [values] = await parquetReadObjects({ file, rowStart: row, rowEnd: row + 1, compressors });
  if (!values) throw new Error(`${key} has no row ${row}`);
  return canonicalValues(values);
}

/** hyparquet's values as the canonical row JSON has them: dates as ISO strings, 64-bit integers as numbers. */
function canonicalValues(value: Record<string, unknown>): Record<string, unknown> {
  const convert = (inner: unknown): unknown => {
    if (inner instanceof Date) return inner.toISOString();
    if (typeof inner === 'bigint') return Number(inner);
    if (Array.isArray(inner)) return inner.map(convert);
    if (inner !== null && typeof inner === 'object') {
      return Object.fromEntries(Object.entries(inner).map(([key, entry]) => [key, convert(entry)]));
    }
    return inner;
  };
  return convert(value) as Record<string, unknown>;
}
