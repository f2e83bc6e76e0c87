/**
 * The Ray job's log as the task's event channel: `python -m lakeray.ray_job` writes each
 * protocol message (src/runtime/protocol.ts) as a log line behind LOG_MARKER, and everything
 * else in the log is output (the script's stdout and stderr, which Ray merges, and Ray's own
 * lines about the job). A marker may follow a partial line the script printed without a
 * newline: the text before it is output, the rest the message.
 */
import { parseHarnessLine, type HarnessMessage } from '../../runtime/protocol.ts';

/** Must equal LOG_MARKER of runtimes/python/lakeray/ray_job.py. */
export const LOG_MARKER = '\x1elakeray\x1f';

export type LogItem = { kind: 'message'; message: HarnessMessage } | { kind: 'output'; line: string };

export function readJobLogLine(line: string): LogItem[] {
  const at = line.indexOf(LOG_MARKER);
  if (at < 0) return [{ kind: 'output', line }];
  const items: LogItem[] = at > 0 ? [{ kind: 'output', line: line.slice(0, at) }] : [];
  const message = parseHarnessLine(line.slice(at + LOG_MARKER.length));
  // A marker with something unreadable behind it is shown as it came, never dropped.
  items.push(message ? { kind: 'message', message } : { kind: 'output', line: line.slice(at + LOG_MARKER.length) });
  return items;
}
