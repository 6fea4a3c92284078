// A signed difference between two runs (B − A): green when it went down (fewer tokens,
// cheaper, faster), red when it went up.

function sign(n: number): string {
  return n > 0 ? '+' : n < 0 ? '−' : '±';
}

export function Delta({
  value,
  format,
  testid,
}: {
  value: number | undefined;
  format: (v: number) => string;
  testid?: string;
}) {
  if (value === undefined || !Number.isFinite(value)) return <span class="delta muted">–</span>;
  const cls = value > 0 ? 'up' : value < 0 ? 'down' : 'zero';
  return (
    <span class={`delta ${cls}`} data-testid={testid}>
      {sign(value)}
      {format(Math.abs(value))}
    </span>
  );
}
