import { benchAggregateCli } from './aggregate-cli';
import { benchAggregation } from './aggregation';
import { benchAggregationReal } from './aggregation-real';
import { benchAggregationStall } from './aggregation-stall';
import { benchAuditOverhead } from './audit-overhead';
import { benchDatasetNearDuplicates } from './dataset-near-duplicates';
import { benchDatasetParquet } from './dataset-parquet';
import { benchEpochClose } from './epoch-close';
import { benchEpochTree } from './epoch-tree';
import { benchExtensionIdle } from './extension-idle';
import { benchHealthUnderLoad } from './health-under-load';
import { benchIngest } from './ingest';
import { benchLoad } from './load';
import { benchPopupOpen } from './popup-open';
import { benchRequestSigning } from './request-signing';
import { benchSimilarity } from './similarity';
import { benchUploadEfficiency } from './upload-efficiency';

/** `npm run bench`: every benchmark, each measured side by side with its anchor. */
const benchmarks: Array<[string, () => Promise<string>]> = [
  ['request-signing', benchRequestSigning],
  ['ingest', benchIngest],
  ['health-under-load', benchHealthUnderLoad],
  ['load', benchLoad],
  ['upload-efficiency', benchUploadEfficiency],
  ['aggregation', benchAggregation],
  ['aggregation-real', benchAggregationReal],
  ['aggregation-stall', benchAggregationStall],
  ['aggregate-cli', benchAggregateCli],
  ['audit-overhead', benchAuditOverhead],
  ['similarity', benchSimilarity],
  ['dataset-parquet', benchDatasetParquet],
  ['dataset-near-duplicates', () => benchDatasetNearDuplicates()],
  ['epoch-tree', benchEpochTree],
  ['epoch-close', benchEpochClose],
  ['popup-open', benchPopupOpen],
  ['extension-idle', benchExtensionIdle],
];

const only = process.argv[2];
for (const [name, run] of benchmarks) {
  if (only && only !== name) continue;
  process.stdout.write(`${await run()}\n\n`);
}
