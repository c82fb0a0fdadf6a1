import type { Writable } from 'node:stream';
import {
  type ColumnDefinition,
  columnsOf,
  type DatasetRowKind,
  type LabelRow,
  type PageRow,
  type RawLabel,
} from '@protocol/dataset-rows';
import {
  type DataType,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import {
  Compression,
  EnabledStatistics,
  transformParquetStream,
  type RecordBatch as WasmRecordBatch,
  Table as WasmTable,
  WriterPropertiesBuilder,
  WriterVersion,
} from 'parquet-wasm/node';

/**
 * Streams one Parquet file (zstd, statistics on) to a Node `Writable`, batch by batch.
 *
 * Rows go JS objects -> Arrow JS record batch -> Arrow IPC -> parquet-wasm (arrow-rs `AsyncArrowWriter`),
 * whose output bytes are piped to the sink as each row group closes. Only the row group being built is
 * held (by arrow-rs, compressed), plus about 1 MB of rows being converted: never the whole file.
 *
 * Where the memory goes (bench, 8 KB pages, default bound: 90 MB uncompressed, 28 MB compressed groups):
 * WASM memory grows to several times the compressed row group (its encoded pages, arrow-rs's output
 * buffer growing by doubling, the copy handed to JS, all alive while a group is flushed) and never shrinks:
 * 104-180 MB, reached at the first flush and flat after. The group's bytes then live once more in JS until
 * the sink has written them. Without changing parquet-wasm itself, that is the floor for a row-group size.
 */

/**
 * Row-group bound unless told otherwise. arrow-rs applies it to the bytes it buffers, which are already
 * zstd-compressed: measured on 8 KB prose-like pages, a 96 MiB bound gave 293 MB uncompressed groups and
 * 32 MiB gives 90 MB (11,500 rows), within the 64-128 MB readers handle well. Text that compresses better
 * (raw HTML) makes larger uncompressed groups; a smaller bound holds less (16 MiB: WASM about 70-90 MB).
 */
export const defaultRowGroupBytes = 32 * 1024 * 1024;

/** Hugging Face's advice is shards of at most about 500 MB; callers roll to a new file before this. */
export const maxShardBytes = 500 * 1024 * 1024;

export interface ParquetWriterOptions {
  /**
   * Bound on a row group's buffered, compressed size (arrow-rs `max_row_group_bytes`). Best effort: arrow-rs
   * turns it into a row count from the batch that opens the group, so one huge row can overshoot it.
   */
  rowGroupBytes?: number;
}

export interface ParquetWriterSummary {
  rows: number;
  /** Bytes of the finished file, as written to the sink. */
  bytes: number;
}

export interface ParquetWriter {
  /** Appends rows; resolves when the writer is ready for more (backpressure from the sink included). */
  writeRows(rows: readonly (PageRow | LabelRow)[]): Promise<void>;
  /** Writes the footer, waits for the sink to finish, and says what was written. Does not end `sink` twice. */
  close(): Promise<ParquetWriterSummary>;
  /** Rows accepted so far. */
  readonly rows: number;
  /**
   * Bytes already handed to the sink. It grows when a row group closes, so to keep a shard under `limit`
   * roll to a new file once `bytesWritten + rowGroupBytes > limit` (row groups shrink when compressed).
   */
  readonly bytesWritten: number;
  /** The row-group bound in use: the open row group adds at most about this much before it reaches the sink. */
  readonly rowGroupBytes: number;
}

/** Long, mostly unique strings: a dictionary only costs memory and a fallback there. */
const noDictionaryColumns = new Set(['url', 'final_url', 'title', 'text', 'text_sha256', 'raw_html', 'content']);

const rawLabelStruct = new Struct([
  new Field('labeler', new Utf8(), false),
  new Field('value', new Utf8(), false),
  new Field('gold_accuracy', new Float64(), true),
]);
const rawLabelsType = new List(new Field('item', rawLabelStruct, false));

function arrowTypeOf(column: ColumnDefinition): DataType {
  switch (column.type) {
    case 'string':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'timestamp':
      // UTC timezone makes Parquet mark it isAdjustedToUTC, so readers see a zoned instant, not wall time.
      return new TimestampMillisecond('UTC');
    case 'raw_labels':
      return rawLabelsType;
  }
}

/** The Arrow schema of a dataset kind; each field carries its description, which arrow-rs keeps in the file. */
export function arrowSchemaOf(kind: DatasetRowKind): Schema {
  const fields = columnsOf(kind).map(
    (column) =>
      new Field(column.name, arrowTypeOf(column), column.nullable, new Map([['description', column.description]])),
  );
  return new Schema(fields, new Map([['gleaner:kind', kind]]));
}

function columnValues(column: ColumnDefinition, rows: readonly (PageRow | LabelRow)[]): unknown[] {
  const values = new Array<unknown>(rows.length);
  for (let index = 0; index < rows.length; index += 1) {
    const value = (rows[index] as unknown as Record<string, unknown>)[column.name] ?? null;
    if (value === null) {
      if (!column.nullable) throw new Error(`column ${column.name} is not nullable but row ${index} has no value`);
      values[index] = null;
    } else if (column.type === 'timestamp') {
      const millis = Date.parse(value as string);
      if (Number.isNaN(millis)) throw new Error(`column ${column.name} of row ${index} is not a timestamp`);
      values[index] = millis;
    } else if (column.type === 'int64') {
      values[index] = BigInt(value as number);
    } else if (column.type === 'raw_labels') {
      // Copy only the struct's own fields: a stray property would otherwise not matter, but be explicit.
      values[index] = (value as RawLabel[]).map((label) => ({
        labeler: label.labeler,
        value: label.value,
        gold_accuracy: label.gold_accuracy ?? null,
      }));
    } else {
      values[index] = value;
    }
  }
  return values;
}

function recordBatchOf(schema: Schema, kind: DatasetRowKind, rows: readonly (PageRow | LabelRow)[]): RecordBatch {
  const columns: Record<string, ReturnType<typeof vectorFromArray>> = {};
  for (const column of columnsOf(kind)) {
    const field = schema.fields.find((candidate) => candidate.name === column.name) as Field;
    columns[column.name] = vectorFromArray(columnValues(column, rows), field.type);
  }
  const table = new Table(columns);
  // vectorFromArray drops field nullability and metadata: put the declared schema back.
  const batch = table.batches.length === 1 ? (table.batches[0] as RecordBatch) : null;
  if (!batch) throw new Error('expected one record batch');
  return new RecordBatch(schema, batch.data);
}

/**
 * Rows converted at a time, by their rough size. Each conversion holds the rows' values several more times
 * (Arrow JS vectors, the IPC bytes, their copy and decoding in WASM memory), and WASM memory never shrinks.
 * Measured with 500-row batches of pages carrying 200 KB of HTML: peak RSS 905 MB converting whole batches
 * (WASM memory 402 MB), 415 MB in slices of about 1 MB (WASM 101 MB); no difference for 8 KB pages.
 */
const conversionBytes = 1024 * 1024;

/** About how many bytes a row's values take (string lengths, 8 per number): enough to slice by. */
function roughBytesOf(columns: readonly ColumnDefinition[], row: PageRow | LabelRow): number {
  let bytes = 0;
  for (const column of columns) {
    const value = (row as unknown as Record<string, unknown>)[column.name];
    if (typeof value === 'string') bytes += value.length;
    else if (Array.isArray(value)) {
      for (const label of value as RawLabel[]) bytes += label.labeler.length + label.value.length + 8;
    } else bytes += 8;
  }
  return bytes;
}

/** Splits a caller's batch into runs of about `conversionBytes` (at least one row each). */
function* slicesOf(columns: readonly ColumnDefinition[], rows: readonly (PageRow | LabelRow)[]) {
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < rows.length; index += 1) {
    bytes += roughBytesOf(columns, rows[index] as PageRow | LabelRow);
    if (bytes >= conversionBytes) {
      yield rows.slice(start, index + 1);
      start = index + 1;
      bytes = 0;
    }
  }
  if (start < rows.length) yield rows.slice(start);
}

function writerProperties(kind: DatasetRowKind, rowGroupBytes: number) {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setStatisticsEnabled(EnabledStatistics.Page)
    // V1 pages: the form every reader handles (DuckDB writes it too); V2 would also switch long text to
    // DELTA_BYTE_ARRAY, which buys nothing for unique text and costs CPU on both sides.
    .setWriterVersion(WriterVersion.V1)
    .setMaxRowGroupBytes(rowGroupBytes)
    .setCreatedBy('gleaner (parquet-wasm)');
  for (const column of columnsOf(kind)) {
    if (noDictionaryColumns.has(column.name)) builder = builder.setColumnDictionaryEnabled(column.name, false);
  }
  return builder.build();
}

/**
 * Starts a Parquet file of `kind` rows on `sink`. Call `writeRows` one batch at a time (await each), then
 * `close()`, which writes the footer and ends the sink. A failed sink fails the next call.
 */
export function createParquetWriter(
  kind: DatasetRowKind,
  sink: Writable,
  options: ParquetWriterOptions = {},
): ParquetWriter {
  const rowGroupBytes = options.rowGroupBytes ?? defaultRowGroupBytes;
  const schema = arrowSchemaOf(kind);
  const columns = columnsOf(kind);
  let rows = 0;
  let bytesWritten = 0;
  let failure: Error | null = null;

  // A pull-driven stream of record batches: `writeRows` returns only after parquet-wasm took its batch and
  // asked for the next, so converted batches never pile up in front of the writer.
  let controller!: ReadableStreamDefaultController<WasmRecordBatch>;
  let pulled: (() => void) | null = null;
  const input = new ReadableStream<WasmRecordBatch>(
    {
      start: (start) => {
        controller = start;
      },
      pull: () => {
        pulled?.();
        pulled = null;
      },
    },
    { highWaterMark: 0 },
  );
  // Not awaited here: parquet-wasm resolves it only once the first batch arrived (it takes the schema from it).
  const output = transformParquetStream(input, writerProperties(kind, rowGroupBytes));

  const fail = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
    // Wake a `writeRows` waiting for parquet-wasm, which stops pulling once its output is abandoned.
    pulled?.();
    pulled = null;
  };
  // An error event with no listener would crash the process; record it and fail the next call instead.
  sink.on('error', fail);

  // Copies parquet-wasm's output to the sink, honouring the sink's backpressure.
  const pump = (async () => {
    const reader = (await output).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (failure) throw failure;
        bytesWritten += value.byteLength;
        if (!sink.write(value)) await waitForDrain(sink);
      }
      await new Promise<void>((resolve, reject) => {
        sink.once('error', reject);
        sink.end(() => resolve());
      });
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      throw error;
    }
  })().catch(fail);

  const throwIfFailed = () => {
    if (failure) throw failure;
  };

  const send = async (batch: RecordBatch) => {
    const wasmTable = WasmTable.fromIPCStream(tableToIPC(new Table(schema, [batch]), 'stream'));
    try {
      for (const wasmBatch of wasmTable.recordBatches()) {
        const consumed = new Promise<void>((resolve) => {
          pulled = resolve;
        });
        controller.enqueue(wasmBatch);
        await consumed;
        throwIfFailed();
      }
    } finally {
      wasmTable.free();
    }
  };

  return {
    get rows() {
      return rows;
    },
    get bytesWritten() {
      return bytesWritten;
    },
    rowGroupBytes,
    async writeRows(batchRows) {
      throwIfFailed();
      for (const slice of slicesOf(columns, batchRows)) {
        await send(recordBatchOf(schema, kind, slice));
        rows += slice.length;
      }
      // parquet-wasm's side runs on promises only: without this wait a fast caller never lets the event loop
      // open or flush the sink, and the whole file piles up in the sink's buffer.
      if (sink.writableNeedDrain) await waitForDrain(sink);
      throwIfFailed();
    },
    async close() {
      throwIfFailed();
      // parquet-wasm takes the schema from the first batch: an empty file still needs one (with no rows).
      if (rows === 0) await send(recordBatchOf(schema, kind, []));
      controller.close();
      await pump;
      sink.off('error', fail);
      throwIfFailed();
      return { rows, bytes: bytesWritten };
    },
  };
}

function waitForDrain(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      sink.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      sink.off('drain', onDrain);
      reject(error);
    };
    sink.once('drain', onDrain);
    sink.once('error', onError);
  });
}
