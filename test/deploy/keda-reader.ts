/**
 * How KEDA's metrics-api scaler reads a Prometheus text body (`format: prometheus`,
 * kedacore/keda pkg/scalers/metrics_api_scaler.go getValueFromPrometheusResponse): the metric
 * family named by valueLocation, then the first sample whose labels match every matcher.
 */
export function kedaPrometheusValue(body: string, valueLocation: string): number {
  const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?$/.exec(valueLocation);
  if (!m) throw new Error(`not a metric selector: ${valueLocation}`);
  const matchers = [...(m[2] ?? '').matchAll(/(\w+)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"/g)];
  // Only equality here; KEDA also takes !=, =~ and !~, which this reader would need to learn first.
  for (const x of matchers) if (x[2] !== '=') throw new Error(`matcher ${x[0]}: only = is evaluated here`);
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!sample || sample[1] !== m[1]) continue;
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (matchers.every((x) => labels[x[1]!] === x[3])) return Number(sample[3]);
  }
  throw new Error(`value ${valueLocation} not found`);
}
