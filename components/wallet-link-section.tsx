import { useCallback, useEffect, useRef, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import { formatDateTime } from '@/lib/format';
import { logger } from '@/lib/logger';
import { sendMessage } from '@/lib/messages';
import {
  consoleLinkUrl,
  describeWalletLinkError,
  formatTimeLeft,
  type ShownDeviceWallet,
  type ShownLinkCode,
} from '@/lib/wallet-link';
import { Button } from './ui/button';
import { CopyButton } from './ui/copy-button';
import { ErrorText } from './ui/error-text';
import { useNow } from './use-now';

/** Runs a request to the background and keeps its failure in words (rate limits, an unreachable server). */
function useWalletRequest<T>(request: () => Promise<T>, onDone: (value: T) => void) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async () => {
    setPending(true);
    setError(null);
    try {
      onDone(await request());
    } catch (cause) {
      const body = toErrorBody(cause);
      logger.warn(`A wallet link request failed: ${body.message}`, cause);
      setError(describeWalletLinkError(body));
    } finally {
      setPending(false);
    }
  }, [request, onDone]);
  return { run, pending, error };
}

const getDeviceWallet = () => sendMessage('getDeviceWallet', {});
const createLinkCode = () => sendMessage('createLinkCode', {});

/**
 * The options page's wallet section: the wallet this device's points go to (or that it earns
 * unlinked), and a one-time code to link it on the console, with its device and a countdown.
 */
export function WalletLinkSection() {
  const [wallet, setWallet] = useState<ShownDeviceWallet | null>(null);
  const [code, setCode] = useState<ShownLinkCode | null>(null);
  const shownLinkedAt = useRef<string | null>(null);
  const onWallet = useCallback((next: ShownDeviceWallet) => {
    // A new link spent the code on screen: it can link nothing more, so stop showing it.
    if (next.link && next.link.linkedAt !== shownLinkedAt.current) setCode(null);
    shownLinkedAt.current = next.link?.linkedAt ?? null;
    setWallet(next);
  }, []);
  const refresh = useWalletRequest(getDeviceWallet, onWallet);
  const issue = useWalletRequest(createLinkCode, setCode);
  const runRefresh = refresh.run;
  useEffect(() => {
    void runRefresh();
  }, [runRefresh]);

  return (
    <div className="space-y-4">
      <div data-testid="wallet-status" className="text-sm">
        {wallet === null ? (
          <p className="text-slate-500">{refresh.pending ? 'Asking the server…' : 'Not known yet.'}</p>
        ) : wallet.link ? (
          <p>
            <span className="text-slate-600">Points go to wallet </span>
            <code data-testid="linked-wallet" className="break-all font-mono text-xs">
              {wallet.link.wallet}
            </code>
            <span className="text-slate-600"> since {formatDateTime(Date.parse(wallet.link.linkedAt))}.</span>
          </p>
        ) : (
          <p data-testid="wallet-not-linked" className="text-slate-700">
            Not linked: this device earns points, and they move to your wallet when you link it.
          </p>
        )}
      </div>
      <div className="flex flex-wrap gap-2">
        <Button data-testid="get-link-code" disabled={issue.pending} onClick={() => void issue.run()}>
          {issue.pending ? 'Asking…' : 'Get a link code'}
        </Button>
        <Button
          data-testid="refresh-wallet"
          variant="secondary"
          disabled={refresh.pending}
          onClick={() => void refresh.run()}
        >
          Refresh
        </Button>
      </div>
      <ErrorText testId="wallet-link-error" error={issue.error ?? refresh.error} />
      {code && <LinkCodePanel code={code} />}
    </div>
  );
}

function LinkCodePanel({ code }: { code: ShownLinkCode }) {
  const now = useNow(1000);
  const expiresAt = Date.parse(code.expiresAt);
  const expired = expiresAt <= now;
  return (
    <div data-testid="link-code-panel" className="space-y-3 rounded-md border border-slate-200 bg-slate-50 p-4">
      <p className="text-sm text-slate-700">
        On the console, connect your wallet and enter this code; the wallet then signs a message naming this device.
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <code
          data-testid="link-code"
          className={`font-mono text-3xl font-semibold tracking-[0.3em] ${expired ? 'text-slate-400 line-through' : ''}`}
        >
          {code.code}
        </code>
        <CopyButton text={code.code} label="Copy the link code" />
      </div>
      <p className="text-sm">
        <span className="text-slate-600">Device </span>
        <code data-testid="link-device" className="break-all font-mono text-xs">
          {code.device}
        </code>
      </p>
      {expired ? (
        <p data-testid="link-code-expired" className="text-sm text-red-800">
          This code has expired. Get a new one.
        </p>
      ) : (
        <>
          <p data-testid="link-code-expires" className="text-sm text-slate-600">
            Expires in {formatTimeLeft(expiresAt, now)} (at {formatDateTime(expiresAt)}); it links one wallet, once.
          </p>
          <a
            data-testid="open-console-link"
            href={consoleLinkUrl(code.serverUrl, code.device, code.code)}
            target="_blank"
            rel="noreferrer"
            className="inline-block text-sm font-medium text-sky-700 underline hover:text-sky-900"
          >
            Open the console to link
          </a>
        </>
      )}
    </div>
  );
}
