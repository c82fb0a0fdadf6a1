import { linkCodeLength, linkCodeSchema, type WalletLink } from '@protocol/wallets';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { TextField } from '@ui/field';
import { useState } from 'react';
import { type Address, getAddress, isAddress } from 'viem';
import { contributorApi } from '../api/contributor-api';
import { describeWalletError } from '../chain/wallet-errors';
import { formatDateTime } from '../layout/format';
import { PageHeader, Section } from '../layout/page-header';
import { useContributorSession, walletQueryKey } from './contributor-session';
import { useWalletSignature } from './use-wallet-signature';
import { WalletGate } from './wallet-gate';

/** What `/#/rewards/link?device=0x…&code=XXXXXXXX` may carry: the extension opens it prefilled. */
export interface LinkDeviceSearch {
  device?: string;
  code?: string;
}

/** Keeps only strings from the page's query; anything else (numbers, arrays) is as good as absent. */
export function readLinkDeviceSearch(search: Record<string, unknown>): LinkDeviceSearch {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { device: text(search.device), code: text(search.code) };
}

/** `/#/rewards/link`: the wallet signs a message naming the device and the code the device showed. */
export function LinkDevicePage({ search }: { search: LinkDeviceSearch }) {
  return (
    <div className="space-y-6">
      <PageHeader title="Link a device">
        <Link to="/rewards" className="text-sm underline">
          Back to rewards
        </Link>
      </PageHeader>
      <p className="text-sm text-stone-600">
        Open the extension’s options and choose “Link to a wallet”: it shows this device’s address and a one-time code.
        Its points go to your wallet from the moment it is linked; points it earned before move with it.
      </p>
      <Section title="Device">
        <WalletGate>{(address) => <LinkForm wallet={address} search={search} />}</WalletGate>
      </Section>
    </div>
  );
}

function LinkForm({ wallet, search }: { wallet: Address; search: LinkDeviceSearch }) {
  const { publicApi } = useContributorSession();
  const queryClient = useQueryClient();
  const sign = useWalletSignature();
  const [device, setDevice] = useState(search.device ?? '');
  const [code, setCode] = useState(search.code ?? '');
  const [touched, setTouched] = useState(false);
  const deviceError = isAddress(device.trim(), { strict: false })
    ? null
    : 'Enter the device address the extension shows (0x and 40 hex digits).';
  const codeError = linkCodeSchema.safeParse(code.trim().toUpperCase()).success
    ? null
    : `Enter the ${linkCodeLength}-character code the extension shows.`;
  const link = useMutation({
    mutationFn: async (): Promise<WalletLink> => {
      const named = getAddress(device.trim());
      const signed = await sign(wallet, { action: 'link', device: named, code: code.trim().toUpperCase() });
      return contributorApi.link(publicApi, signed);
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: walletQueryKey }),
  });
  return (
    <form
      className="space-y-3"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        setTouched(true);
        if (!deviceError && !codeError) link.mutate();
      }}
    >
      <TextField
        label="Device address"
        value={device}
        onChange={(event) => setDevice(event.target.value)}
        spellCheck={false}
        autoComplete="off"
        error={touched ? deviceError : null}
      />
      <TextField
        label="Link code"
        value={code}
        onChange={(event) => setCode(event.target.value)}
        spellCheck={false}
        autoComplete="off"
        maxLength={linkCodeLength + 4}
        error={touched ? codeError : null}
      />
      <Button type="submit" data-testid="link-submit" disabled={link.isPending}>
        {link.isPending ? 'Waiting for your wallet…' : 'Link device to this wallet'}
      </Button>
      {link.isError && (
        <p role="alert" data-testid="link-result" data-outcome="failed" className="text-sm text-red-800">
          The device was not linked: {describeWalletError(link.error)}
        </p>
      )}
      {link.data && (
        <p role="status" data-testid="link-result" data-outcome="linked" className="text-sm text-emerald-700">
          Device <span className="font-mono">{link.data.device}</span> is linked to wallet{' '}
          <span className="font-mono">{link.data.wallet}</span> since {formatDateTime(link.data.linkedAt)}. Its points
          go to this wallet from now on. <Link to="/rewards">See your rewards</Link>
        </p>
      )}
    </form>
  );
}
