// Small display pieces shared by panels: a headline figure, a fill bar against a limit, a
// severity badge, and the note naming the relations skipped this run.
import type { SkippedRelation } from "../api";

/** A headline figure; `stale` (the agent's reason) marks it as the last value read, not a current one. */
export function Stat({ label, value, hint, stale }: { label: string; value: React.ReactNode; hint?: React.ReactNode; stale?: string | null }) {
  return (
    <div className={stale ? "stat stale" : "stat"} data-stale={stale ? "true" : undefined} title={stale ? `Stale: ${stale}` : undefined}>
      <div className="stat-label">
        {label}
        {stale && <span className="stale-tag"> · stale</span>}
      </div>
      <div className="stat-value">{value}</div>
      {hint && <div className="stat-hint muted">{hint}</div>}
    </div>
  );
}

/** A horizontal gauge of `value` against `max`, turning amber/red past the thresholds. */
export function Meter({
  value,
  max,
  label,
  warnAt = 0.8,
  critAt = 0.9,
}: {
  value: number;
  max: number;
  label: string;
  warnAt?: number;
  critAt?: number;
}) {
  const fraction = max > 0 ? Math.min(Math.max(value / max, 0), 1) : 0;
  const level = fraction >= critAt ? "crit" : fraction >= warnAt ? "warn" : "ok";
  return (
    <div
      className={`meter meter-${level}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={value}
    >
      <div className="meter-fill" style={{ width: `${(fraction * 100).toFixed(2)}%` }} />
    </div>
  );
}

export function Severity({ severity }: { severity: string | null | undefined }) {
  if (!severity) return null;
  return <span className={`badge badge-${severity}`}>{severity}</span>;
}

/**
 * Relations left out of this run's snapshot (a lock held or awaited by another session, a
 * budget that ran out) with each one's reason. Not a failure: the rest of the section is current.
 */
export function SkippedNote({ relations, lead }: { relations: SkippedRelation[] | null | undefined; lead: string }) {
  if (!relations || relations.length === 0) return null;
  return (
    <div className="skipped-note" role="note" data-testid="skipped-relations">
      <strong>Skipped this run:</strong> {lead}
      <ul>
        {relations.map((r) => (
          <li key={r.relation}>
            <code>{r.relation}</code>: {r.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
