import { BaseError as GleanerError } from '@protocol/errors';

/** What the page says when the browser has no injected wallet (no `window.ethereum`). */
export const noWalletMessage =
  'No wallet found in this browser. Install a browser wallet (for example MetaMask or Rabby), then reload this page.';

/** What a claim says when the distributor has already paid everything the latest proof covers. */
export function nothingLeftToClaimMessage(epoch: number): string {
  return `Nothing left to claim: you have already claimed everything up to epoch ${epoch}.`;
}

export interface WalletErrorContext {
  /** The epoch of the proof being claimed, for NothingToClaim. */
  epoch?: number;
  /** The chain the console works on, for wrong-chain errors. */
  chainId?: number;
}

/**
 * Any error from wagmi, viem, the wallet or the Gleaner API, in words a contributor can act on. Wallet
 * libraries wrap the real reason several causes deep (a rejection inside a contract-write error), so the
 * chain of causes is searched for the first reason this knows, and only then falls back to the library's
 * short message, never its multi-line dump with versions and docs links.
 */
export function describeWalletError(error: unknown, context: WalletErrorContext = {}): string {
  for (const cause of causesOf(error)) {
    const words = knownReason(cause, context);
    if (words) return words;
  }
  const top = error as { shortMessage?: unknown; message?: unknown } | null;
  if (top && typeof top.shortMessage === 'string' && top.shortMessage !== '') return top.shortMessage;
  if (top && typeof top.message === 'string' && top.message !== '') return top.message.split('\n')[0] ?? '';
  return String(error);
}

/** The error and its causes, outermost first (bounded: a cause chain can loop). */
function* causesOf(error: unknown): Generator<unknown> {
  let current = error;
  for (let depth = 0; depth < 12 && current !== undefined && current !== null; depth += 1) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

function knownReason(error: unknown, { epoch, chainId }: WalletErrorContext): string | undefined {
  if (error instanceof GleanerError) return error.message;
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code } = error as { name?: unknown; code?: unknown };
  const onChain = chainId === undefined ? 'the Gleaner reward chain' : `the Gleaner reward chain (chain id ${chainId})`;
  if (name === 'ProviderNotFoundError') return noWalletMessage;
  // EIP-1193 4001: the person pressed Reject (or closed the window) in the wallet.
  if (name === 'UserRejectedRequestError' || code === 4001) {
    return 'You declined the request in your wallet, so nothing was signed or sent.';
  }
  if (name === 'ConnectorChainMismatchError' || name === 'ChainMismatchError') {
    return `Your wallet is on another network. Switch it to ${onChain} and try again.`;
  }
  if (name === 'SwitchChainNotSupportedError' || code === 4902) {
    return `Your wallet could not switch networks from this page: add ${onChain} in the wallet and select it by hand.`;
  }
  // -32002: MetaMask's "request already pending", e.g. a second Connect click while the first one waits.
  if (code === -32002) return 'Your wallet already has a request waiting: open the wallet and answer it first.';
  if (name === 'ConnectorNotConnectedError' || name === 'ConnectorAccountNotFoundError') {
    return 'Your wallet is not connected to this page any more: connect it again.';
  }
  if (name === 'InsufficientFundsError') {
    return 'Your wallet does not hold enough of the chain’s own currency to pay the transaction fee.';
  }
  if (name === 'ContractFunctionRevertedError') {
    const errorName = (error as { data?: { errorName?: string } }).data?.errorName;
    if (errorName === 'NothingToClaim') {
      return epoch === undefined
        ? 'Nothing left to claim: you have already claimed everything published so far.'
        : nothingLeftToClaimMessage(epoch);
    }
    if (errorName === 'InvalidProof') {
      return 'The distributor did not accept the proof: the epoch on chain is not the one the proof was built for. Reload this page and try again.';
    }
  }
  if (name === 'HttpRequestError' || name === 'TimeoutError') {
    return 'The reward chain could not be reached: check your connection and that the server’s chain is running.';
  }
  return undefined;
}
