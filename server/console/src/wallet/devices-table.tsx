import type { WalletOverview } from '@protocol/contributors';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { ErrorText } from '@ui/error-text';
import { Cell, Table } from '@ui/table';
import type { Address } from 'viem';
import { contributorApi } from '../api/contributor-api';
import { describeWalletError } from '../chain/wallet-errors';
import { formatShare } from '../layout/format';
import { useContributorSession, walletQueryKey } from './contributor-session';
import { formatRelativeTime } from './relative-time';
import { useWalletSignature } from './use-wallet-signature';

type Device = WalletOverview['devices'][number];

/** The wallet's linked devices: trust, last contact, points, and Unlink (signed by the wallet). */
export function DevicesTable({ wallet, devices }: { wallet: Address; devices: Device[] }) {
  if (devices.length === 0) {
    return (
      <p className="text-sm text-stone-600" data-testid="devices-empty">
        No device is linked to this wallet. Open the extension’s options, show a link code, and link it here.
      </p>
    );
  }
  return (
    <Table
      caption="Devices linked to this wallet"
      columns={['Device', 'Browser', 'Trust', 'Last contact', 'Points', '']}
    >
      {devices.map((device) => (
        <DeviceRow key={device.address} wallet={wallet} device={device} />
      ))}
    </Table>
  );
}

function DeviceRow({ wallet, device }: { wallet: Address; device: Device }) {
  const { publicApi } = useContributorSession();
  const queryClient = useQueryClient();
  const sign = useWalletSignature();
  const unlink = useMutation({
    mutationFn: async () =>
      contributorApi.unlink(publicApi, await sign(wallet, { action: 'unlink', device: device.address })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: walletQueryKey }),
  });
  return (
    <tr data-testid="device-row" data-device={device.address}>
      <Cell className="font-mono text-xs">{device.address}</Cell>
      <Cell>
        {device.browser} · {device.extensionVersion}
      </Cell>
      <td className="px-3 py-2 align-top" data-testid="device-trust">
        {formatShare(device.trust)}
      </td>
      <td className="px-3 py-2 align-top" title={device.lastSeenAt} data-testid="device-last-contact">
        {formatRelativeTime(device.lastSeenAt)}
      </td>
      <Cell>
        {device.points.verified} verified · {device.points.pending} pending · {device.points.rejected} rejected
      </Cell>
      <Cell>
        <Button variant="secondary" disabled={unlink.isPending} onClick={() => unlink.mutate()}>
          {unlink.isPending ? 'Waiting for your wallet…' : 'Unlink'}
        </Button>
        <ErrorText error={unlink.error ? describeWalletError(unlink.error) : null} />
      </Cell>
    </tr>
  );
}
