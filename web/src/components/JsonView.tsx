/** Pretty-printed JSON in a code block; "{}" and null read as "none". */
export function JsonView({ value, empty = 'None' }: { value: unknown; empty?: string }) {
  const isEmpty = value === null || value === undefined || (typeof value === 'object' && Object.keys(value as object).length === 0);
  if (isEmpty) return <p className="muted small">{empty}</p>;
  return (
    <pre className="code-block" tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
