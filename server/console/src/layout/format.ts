/** Bytes in the unit a person reads (1,234 B, 12.3 KB, 4.5 MB…), powers of 1024. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes.toLocaleString('en-US')} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A timestamp in the reader's locale. */
export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** A share (0..1) as a whole percentage; a dash when unknown. */
export function formatShare(share: number | null | undefined): string {
  return share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`;
}
