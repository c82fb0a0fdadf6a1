import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultChainId } from '@protocol/signing';
import { anvilDevOperatorKey } from './chain-settings';
import { type LocalChain, startLocalChain } from './local-chain';

export interface TestChain extends LocalChain {
  /** The temporary data directory the chain keeps its state in (and a test's GLEANER_DATA_DIR). */
  dataDir: string;
}

/**
 * A real local chain (anvil, contracts deployed by the dev operator key) in a fresh temporary data
 * directory, on a free port; `stop` also removes the directory, so a test's afterAll needs one call.
 */
export async function startTestChain(name: string): Promise<TestChain> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `gleaner-${name}-`));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  try {
    const chain = await startLocalChain({
      dataDir,
      chainId: defaultChainId,
      operatorKey: anvilDevOperatorKey(),
      port: null,
      publicRpcUrl: null,
    });
    return {
      ...chain,
      dataDir,
      async stop() {
        await chain.stop();
        await removeDir();
      },
    };
  } catch (error) {
    await removeDir();
    throw error;
  }
}
