import type { ProgressPoint } from '../../lib/index';

const W = 320;
const H = 70;

/** A polyline of (x, y) points scaled into the chart; x in steps. */
function path(points: readonly [number, number][], xMax: number, lo: number, hi: number): string {
  const span = hi - lo || 1;
  return points
    .map(([x, y]) => `${((x / Math.max(1, xMax)) * W).toFixed(1)},${(H - ((y - lo) / span) * (H - 6) - 3).toFixed(1)}`)
    .join(' ');
}

/**
 * The two losses of a run, each on its own chart and named: the training loss is the objective
 * the model is trained on (DRO reweights behaviors towards the worst predicted, so it is larger
 * than a plain cross-entropy), the validation loss is plain cross-entropy on the validation part
 * (what picks the kept epoch). They share the step axis but not a scale.
 */
export function LossCharts({
  losses,
  epochs,
  objective,
  totalSteps,
}: {
  losses: number[];
  epochs: ProgressPoint[];
  objective: 'dro' | 'ce';
  totalSteps: number;
}) {
  if (losses.length < 2) return null;
  const xMax = Math.max(totalSteps, losses.length);
  const train = losses.map((l, i) => [i + 1, l] as [number, number]);
  const checks = epochs.filter((e) => e.validation).map((e) => [e.step, e.validation!.loss] as [number, number]);
  const kept = epochs.filter((e) => e.validation && e.improved).at(-1);
  const [tLo, tHi] = [Math.min(...losses), Math.max(...losses)];
  const vals = checks.map(([, y]) => y);
  const [vLo, vHi] = [Math.min(...vals), Math.max(...vals)];
  const trainName = objective === 'dro' ? 'Training loss: the DRO objective' : 'Training loss: cross-entropy';
  return (
    <div className="loss-charts">
      <figure className="loss-curve">
        <svg
          viewBox={`0 0 ${W} ${H}`}
          width={W}
          height={H}
          role="img"
          aria-label={`${trainName}, per step, from ${losses[0].toFixed(3)} to ${losses.at(-1)!.toFixed(3)}`}
          data-testid="finetune-loss-curve"
        >
          <polyline points={path(train, xMax, tLo, tHi)} fill="none" stroke="var(--accent)" strokeWidth="1.5" />
        </svg>
        <figcaption className="small muted" data-testid="finetune-train-loss-label">
          {trainName} per step, on the training part ({losses[0].toFixed(3)} → {losses.at(-1)!.toFixed(3)})
          {objective === 'dro' &&
            ': it weights each behavior by how badly it is predicted, so it runs higher than a cross-entropy and is not comparable with the validation loss'}
        </figcaption>
      </figure>
      {checks.length > 0 && (
        <figure className="loss-curve">
          <svg
            viewBox={`0 0 ${W} ${H}`}
            width={W}
            height={H}
            role="img"
            aria-label={`Validation loss (cross-entropy) at each check, from ${vals[0].toFixed(3)} to ${vals.at(-1)!.toFixed(3)}`}
            data-testid="finetune-valid-curve"
          >
            <polyline points={path(checks, xMax, vLo, vHi)} fill="none" stroke="var(--ok, #2a8a4a)" strokeWidth="1.5" />
            {checks.map(([x, y], i) => {
              const [cx, cy] = path([[x, y]], xMax, vLo, vHi)
                .split(',')
                .map(Number);
              const isKept = kept && kept.step === x;
              return (
                <circle
                  key={i}
                  cx={cx}
                  cy={cy}
                  r={isKept ? 3.5 : 1.8}
                  fill={isKept ? 'var(--ok, #2a8a4a)' : 'currentColor'}
                />
              );
            })}
          </svg>
          <figcaption className="small muted" data-testid="finetune-valid-loss-label">
            Validation loss: cross-entropy on the validation part at each check ({vals[0].toFixed(3)} →{' '}
            {vals.at(-1)!.toFixed(3)}
            {kept && `; lowest ${kept.validation!.loss.toFixed(3)} at epoch ${kept.epoch}, the epoch kept`})
          </figcaption>
        </figure>
      )}
    </div>
  );
}
