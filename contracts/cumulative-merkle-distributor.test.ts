import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { type Abi, type Address, type Hex, parseEther, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractArtifact } from './compile';
import { revertOf, startTestChain, type TestChain } from './test-chain';

// Content ids of epoch files are opaque strings to the contract; these look like the CIDv1 the server publishes.
const epochOneCid = 'bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq';
const epochTwoCid = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';

let chain: TestChain;
let operator: Address;
let alice: Address;
let bob: Address;
let relayer: Address;
let tokenAbi: Abi;
let distributorAbi: Abi;

beforeAll(async () => {
  [tokenAbi, distributorAbi] = await Promise.all([
    contractArtifact('RewardToken').then((artifact) => artifact.abi),
    contractArtifact('CumulativeMerkleDistributor').then((artifact) => artifact.abi),
  ]);
  chain = await startTestChain();
  [operator, alice, bob, relayer] = chain.accounts as [Address, Address, Address, Address];
});

afterAll(async () => {
  await chain?.anvil.stop();
});

/** One epoch's tree over (account, cumulative amount), built by the library the server is checked against. */
function epochTree(entries: [Address, bigint][]) {
  return StandardMerkleTree.of(
    entries.map(([account, amount]) => [account, amount.toString()]),
    ['address', 'uint256'],
  );
}

function proofOf(tree: StandardMerkleTree<string[]>, account: Address): Hex[] {
  for (const [index, [entryAccount]] of tree.entries()) {
    if (entryAccount === account) return tree.getProof(index) as Hex[];
  }
  throw new Error(`${account} is not in the tree`);
}

/** A fresh token and distributor owned by the operator, so tests never see each other's claims. */
async function deployRewards() {
  const token = await chain.deploy('RewardToken', ['Gleaner Reward', 'GLR', operator]);
  const distributor = await chain.deploy('CumulativeMerkleDistributor', [token, operator]);
  const write = (functionName: string, args: readonly unknown[], from: Address = operator) =>
    chain.walletClient
      .writeContract({ address: distributor, abi: distributorAbi, functionName, args, account: from, chain: null })
      .then(chain.mined);
  // Reverts are checked with eth_call against the chain's current state, as a wallet does before sending.
  const simulate = (functionName: string, args: readonly unknown[], from: Address = relayer) =>
    chain.publicClient.simulateContract({
      address: distributor,
      abi: distributorAbi,
      functionName,
      args,
      account: from,
    });
  const read = (functionName: string, args: readonly unknown[] = []) =>
    chain.publicClient.readContract({ address: distributor, abi: distributorAbi, functionName, args });
  const balanceOf = (account: Address) =>
    chain.publicClient.readContract({ address: token, abi: tokenAbi, functionName: 'balanceOf', args: [account] });

  /** Mints the epoch's new tokens into the distributor and publishes its root, as the operator CLI will. */
  async function publishEpoch(epoch: number, tree: StandardMerkleTree<string[]>, pool: bigint, cid: string) {
    const hash = await chain.walletClient.writeContract({
      address: token,
      abi: tokenAbi,
      functionName: 'mint',
      args: [distributor, pool],
      account: operator,
      chain: null,
    });
    await chain.mined(hash);
    await write('setEpoch', [BigInt(epoch), tree.root, cid]);
  }

  /** Sends a claim from the relayer: anyone may send it, the tokens go to the account. */
  const claim = (tree: StandardMerkleTree<string[]>, account: Address, amount: bigint) =>
    write('claim', [account, amount, proofOf(tree, account)], relayer);

  return { token, distributor, write, simulate, read, balanceOf, publishEpoch, claim };
}

describe('CumulativeMerkleDistributor', () => {
  it('pays an account its cumulative amount, whoever sends the claim, and records it', async () => {
    const rewards = await deployRewards();
    const tree = epochTree([
      [alice, parseEther('100')],
      [bob, parseEther('50')],
    ]);
    await rewards.publishEpoch(1, tree, parseEther('150'), epochOneCid);

    const receipt = await rewards.claim(tree, alice, parseEther('100'));

    expect(await rewards.balanceOf(alice)).toBe(parseEther('100'));
    expect(await rewards.balanceOf(relayer)).toBe(0n);
    expect(await rewards.read('claimed', [alice])).toBe(parseEther('100'));
    expect(await rewards.balanceOf(rewards.distributor)).toBe(parseEther('50'));
    const [claimed] = parseEventLogs({ abi: distributorAbi, logs: receipt.logs, eventName: 'Claimed' });
    expect(claimed?.args).toEqual({
      account: alice,
      epoch: 1n,
      amount: parseEther('100'),
      cumulativeAmount: parseEther('100'),
    });
  });

  it('pays only the difference to what was claimed after the next epoch, and refuses the old epoch proof', async () => {
    const rewards = await deployRewards();
    const epochOne = epochTree([
      [alice, parseEther('100')],
      [bob, parseEther('50')],
    ]);
    await rewards.publishEpoch(1, epochOne, parseEther('150'), epochOneCid);
    await rewards.claim(epochOne, alice, parseEther('100'));

    const epochTwo = epochTree([
      [alice, parseEther('250')],
      [bob, parseEther('80')],
    ]);
    await rewards.publishEpoch(2, epochTwo, parseEther('180'), epochTwoCid);
    const receipt = await rewards.claim(epochTwo, alice, parseEther('250'));

    const [claimed] = parseEventLogs({ abi: distributorAbi, logs: receipt.logs, eventName: 'Claimed' });
    expect(claimed?.args).toMatchObject({ epoch: 2n, amount: parseEther('150'), cumulativeAmount: parseEther('250') });
    expect(await rewards.balanceOf(alice)).toBe(parseEther('250'));

    // Bob skipped epoch one: his epoch-one proof no longer verifies, his epoch-two claim pays all of it.
    const stale = await revertOf(rewards.simulate('claim', [bob, parseEther('50'), proofOf(epochOne, bob)]));
    expect(stale.errorName).toBe('InvalidProof');
    await rewards.claim(epochTwo, bob, parseEther('80'));
    expect(await rewards.balanceOf(bob)).toBe(parseEther('80'));
    expect(await rewards.balanceOf(rewards.distributor)).toBe(0n);
  });

  it('refuses a proof that does not match the amount, a forged proof and an empty one with InvalidProof', async () => {
    const rewards = await deployRewards();
    const tree = epochTree([
      [alice, parseEther('100')],
      [bob, parseEther('50')],
    ]);
    await rewards.publishEpoch(1, tree, parseEther('150'), epochOneCid);
    const proof = proofOf(tree, alice);

    const attempts = [
      [alice, parseEther('100') + 1n, proof],
      [alice, parseEther('150'), proof],
      [alice, parseEther('100'), [`0x${'11'.repeat(32)}`]],
      [alice, parseEther('100'), []],
    ];
    for (const args of attempts) {
      expect((await revertOf(rewards.simulate('claim', args))).errorName).toBe('InvalidProof');
    }
    expect(await rewards.read('claimed', [alice])).toBe(0n);
  });

  it("refuses another account's proof with InvalidProof", async () => {
    const rewards = await deployRewards();
    const tree = epochTree([
      [alice, parseEther('100')],
      [bob, parseEther('50')],
    ]);
    await rewards.publishEpoch(1, tree, parseEther('150'), epochOneCid);

    // Relayer tries to take Alice's amount with Alice's proof, and Bob to claim Alice's larger amount.
    const asRelayer = await revertOf(rewards.simulate('claim', [relayer, parseEther('100'), proofOf(tree, alice)]));
    expect(asRelayer.errorName).toBe('InvalidProof');
    const asBob = await revertOf(rewards.simulate('claim', [bob, parseEther('100'), proofOf(tree, alice)], bob));
    expect(asBob.errorName).toBe('InvalidProof');
    expect(await rewards.balanceOf(relayer)).toBe(0n);
    expect(await rewards.balanceOf(bob)).toBe(0n);
  });

  it('refuses a replayed claim with NothingToClaim and pays nothing more', async () => {
    const rewards = await deployRewards();
    const tree = epochTree([
      [alice, parseEther('100')],
      [bob, parseEther('50')],
    ]);
    await rewards.publishEpoch(1, tree, parseEther('300'), epochOneCid);
    await rewards.claim(tree, alice, parseEther('100'));

    const replay = await revertOf(rewards.simulate('claim', [alice, parseEther('100'), proofOf(tree, alice)]));
    expect(replay).toEqual({ errorName: 'NothingToClaim', args: [alice, parseEther('100'), parseEther('100')] });
    // Sent anyway (anvil mines it), the replay reverts on chain and moves nothing.
    const hash = await chain.walletClient.writeContract({
      address: rewards.distributor,
      abi: distributorAbi,
      functionName: 'claim',
      args: [alice, parseEther('100'), proofOf(tree, alice)],
      account: relayer,
      chain: null,
    });
    expect((await chain.publicClient.waitForTransactionReceipt({ hash })).status).toBe('reverted');
    expect(await rewards.balanceOf(alice)).toBe(parseEther('100'));
  });

  it('lets only the owner publish an epoch or mint, with Ownable errors for anyone else', async () => {
    const rewards = await deployRewards();
    const tree = epochTree([[bob, parseEther('1000')]]);

    const setByBob = await revertOf(rewards.simulate('setEpoch', [1n, tree.root, epochOneCid], bob));
    expect(setByBob).toEqual({ errorName: 'OwnableUnauthorizedAccount', args: [bob] });
    const mintByBob = await revertOf(
      chain.publicClient.simulateContract({
        address: rewards.token,
        abi: tokenAbi,
        functionName: 'mint',
        args: [bob, parseEther('1000')],
        account: bob,
      }),
    );
    expect(mintByBob).toEqual({ errorName: 'OwnableUnauthorizedAccount', args: [bob] });
    expect(await rewards.read('currentEpoch')).toBe(0n);
    expect(await rewards.read('merkleRoot')).toBe(`0x${'00'.repeat(32)}`);
  });

  it('keeps epochs strictly increasing, needs a root and a content id, and reads each content id back', async () => {
    const rewards = await deployRewards();
    const epochOne = epochTree([[alice, 1n]]);
    const epochThree = epochTree([[alice, 2n]]);
    await rewards.write('setEpoch', [1n, epochOne.root, epochOneCid]);
    const receipt = await rewards.write('setEpoch', [3n, epochThree.root, epochTwoCid]);

    const [published] = parseEventLogs({ abi: distributorAbi, logs: receipt.logs, eventName: 'EpochSet' });
    expect(published?.args).toEqual({ epoch: 3n, root: epochThree.root, contentId: epochTwoCid });
    expect(await rewards.read('currentEpoch')).toBe(3n);
    expect(await rewards.read('merkleRoot')).toBe(epochThree.root);
    expect(await rewards.read('currentContentId')).toBe(epochTwoCid);
    expect(await rewards.read('epochOf', [1n])).toEqual({ root: epochOne.root, contentId: epochOneCid });
    expect(await rewards.read('epochOf', [3n])).toEqual({ root: epochThree.root, contentId: epochTwoCid });
    expect((await revertOf(rewards.read('epochOf', [2n]))).errorName).toBe('UnknownEpoch');

    const again = await revertOf(rewards.simulate('setEpoch', [3n, epochOne.root, epochOneCid], operator));
    expect(again).toEqual({ errorName: 'EpochNotIncreasing', args: [3n, 3n] });
    const backwards = await revertOf(rewards.simulate('setEpoch', [2n, epochOne.root, epochOneCid], operator));
    expect(backwards.errorName).toBe('EpochNotIncreasing');
    const noRoot = await revertOf(rewards.simulate('setEpoch', [4n, `0x${'00'.repeat(32)}`, epochOneCid], operator));
    expect(noRoot.errorName).toBe('EmptyRoot');
    const noCid = await revertOf(rewards.simulate('setEpoch', [4n, epochOne.root, ''], operator));
    expect(noCid.errorName).toBe('EmptyContentId');
  });

  it('pays nothing and records nothing when it holds fewer tokens than the claim', async () => {
    const rewards = await deployRewards();
    const tree = epochTree([
      [alice, parseEther('100')],
      [bob, parseEther('50')],
    ]);
    await rewards.publishEpoch(1, tree, parseEther('99'), epochOneCid);

    // The token's error bubbles up through SafeERC20: decode it with both ABIs.
    const underfunded = await revertOf(
      chain.publicClient.simulateContract({
        address: rewards.distributor,
        abi: [...distributorAbi, ...tokenAbi],
        functionName: 'claim',
        args: [alice, parseEther('100'), proofOf(tree, alice)],
        account: relayer,
      }),
    );
    expect(underfunded).toEqual({
      errorName: 'ERC20InsufficientBalance',
      args: [rewards.distributor, parseEther('99'), parseEther('100')],
    });
    expect(await rewards.read('claimed', [alice])).toBe(0n);
  });
});
