import { parseAbi } from 'viem';

// The parts of contracts/*.sol the server calls, typed for viem. Deployment uses the compiled artifacts
// (contracts/compile.ts); the tests call these against the deployed bytecode, so a drift fails them.

export const rewardTokenAbi = parseAbi([
  'function mint(address to, uint256 amount)',
  'function owner() view returns (address)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
  'function balanceOf(address account) view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);

export const distributorAbi = parseAbi([
  'struct Epoch { bytes32 root; string contentId; }',
  'function setEpoch(uint256 epoch, bytes32 root, string contentId)',
  'function currentEpoch() view returns (uint256)',
  'function epochOf(uint256 epoch) view returns (Epoch)',
  'function token() view returns (address)',
  'function owner() view returns (address)',
  'function claim(address account, uint256 cumulativeAmount, bytes32[] proof)',
  'function claimed(address account) view returns (uint256)',
  'event EpochSet(uint256 indexed epoch, bytes32 root, string contentId)',
]);

export const registryAbi = parseAbi([
  'struct DatasetRoot { bytes32 merkleRoot; bytes32 cardSha256; uint64 rowCount; uint64 registeredAt; }',
  'function register(bytes16 datasetId, bytes32 merkleRoot, uint64 rowCount, bytes32 cardSha256)',
  'function isRegistered(bytes16 datasetId) view returns (bool)',
  'function datasetOf(bytes16 datasetId) view returns (DatasetRoot)',
  'function owner() view returns (address)',
  'event DatasetRegistered(bytes16 indexed datasetId, bytes32 merkleRoot, uint64 rowCount, bytes32 cardSha256)',
]);
