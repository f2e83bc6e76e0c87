import { useEffect, useState } from 'react';
import { live, type LiveStatus } from '../api/live.ts';

export function useLiveStatus(): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>(live.getStatus());
  useEffect(() => live.onStatus(setStatus), []);
  return status;
}
