// Small display pieces shared by panels: a headline figure, a fill bar against a limit, and a
// severity badge.

export function Stat({ label, value, hint }: { label: string; value: React.ReactNode; hint?: React.ReactNode }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
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
