import { useEffect, useState } from 'react';

/** The current time, refreshed every `intervalMs`, for texts like "paused until" that age by themselves. */
export function useNow(intervalMs = 10_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
