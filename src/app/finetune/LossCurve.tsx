/** Training loss per step as a small line chart (nothing before two steps). */
export function LossCurve({ losses }: { losses: number[] }) {
  if (losses.length < 2) return null;
  const W = 320;
  const H = 80;
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const points = losses.map((l, i) => `${((i / (losses.length - 1)) * W).toFixed(1)},${(H - ((l - lo) / span) * (H - 4) - 2).toFixed(1)}`).join(' ');
  return (
    <figure className="loss-curve">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`Training loss from ${losses[0].toFixed(3)} to ${losses[losses.length - 1].toFixed(3)}`} data-testid="finetune-loss-curve">
        <polyline points={points} fill="none" stroke="var(--accent)" strokeWidth="1.5" />
      </svg>
      <figcaption className="small muted">
        Training loss per step ({hi.toFixed(3)} → {losses[losses.length - 1].toFixed(3)})
      </figcaption>
    </figure>
  );
}
