/**
 * What a person choosing a model looks at first: its headline metrics (accuracy before loss,
 * accuracies as percentages) and its main training parameters, in a line each.
 */
import { isFractionMetric } from '../../lib/chart-scale.ts';
import { metric, metricText } from '../../lib/format.ts';

export interface Labelled {
  name: string;
  label: string;
  text: string;
}

const words = (key: string): string => key.replace(/_/g, ' ');

const metricRank = (name: string): number => (isFractionMetric(name) ? 0 : /loss/i.test(name) ? 1 : 2);

/** The model's single-value metrics, accuracy-like first, then losses, then the rest (as stored). */
export function headlineMetrics(metrics: Record<string, unknown> | undefined, digits = 1): Labelled[] {
  return Object.entries(metrics ?? {})
    .filter(([, v]) => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 40))
    .map(([name, v], i) => ({ name, label: words(name), text: metricText(name, v, digits), rank: metricRank(name) * 1000 + i }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ name, label, text }) => ({ name, label, text }));
}

/** Parameters people compare runs by, in this order when present; then the others as stored. */
const KEY_PARAMS = ['epochs', 'learning_rate', 'lr', 'batch_size', 'architecture', 'optimizer', 'model'];

/** The short (scalar) parameters, the well-known ones first. Lists and objects are left to the model page. */
export function paramSummary(params: Record<string, unknown> | undefined): Labelled[] {
  const short = Object.entries(params ?? {}).filter(([, v]) => ['number', 'boolean'].includes(typeof v) || (typeof v === 'string' && v.length <= 24));
  const rank = (k: string) => {
    const i = KEY_PARAMS.indexOf(k);
    return i === -1 ? KEY_PARAMS.length : i;
  };
  return short
    .map(([name, v], i) => ({ name, v, order: rank(name) * 1000 + i }))
    .sort((a, b) => a.order - b.order)
    .map(({ name, v }) => ({ name, label: words(name), text: typeof v === 'string' ? v : metric(v) }));
}
