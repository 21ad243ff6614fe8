// The frame every panel shares: its title and deep link, when its data was collected, whether
// the agent says that snapshot is stale (database unreachable, last run failed), the error of
// the latest request (the previous data stays visible, marked stale), per-section errors, and
// the collapsible SQL used.
import type { SqlUsed as Sql } from "../api";
import { ago } from "../format";
import { SqlUsed } from "./SqlUsed";

interface PanelProps {
  id: string;
  title: string;
  /** Still waiting for the first answer. */
  loading?: boolean;
  /** The latest request's failure. */
  error?: string | null;
  /** The latest request's HTTP status: 503 without data means the agent has nothing yet. */
  status?: number | null;
  /** Sections of the answer that failed on the agent's side. */
  sectionErrors?: Record<string, string> | null;
  collectedAt?: string | null;
  /** The agent's reason why this snapshot is not current (e.g. the database is unreachable). */
  stale?: string | null;
  sql?: Sql[];
  sqlNote?: string;
  hasData: boolean;
  children?: React.ReactNode;
}

export function Panel(props: PanelProps) {
  const { id, title, loading, error, status, sectionErrors, collectedAt, stale, sql, sqlNote, hasData, children } = props;
  const waiting = !hasData && !!error && status === 503;
  const state = loading && !hasData ? "loading" : hasData ? "ready" : waiting ? "waiting" : "error";
  const failed = Object.entries(sectionErrors ?? {});
  return (
    <section
      className={stale && hasData ? "panel stale" : "panel"}
      id={id}
      data-panel={id}
      data-state={state}
      data-stale={stale && hasData ? "true" : undefined}
      aria-busy={state === "loading"}
    >
      <header className="panel-head">
        <h2>
          <a href={`#/${id}`}>{title}</a>
        </h2>
        {collectedAt && (
          <span className="muted" title={collectedAt}>
            collected {ago(collectedAt)}
          </span>
        )}
      </header>
      {stale && hasData && (
        <p className="stale-note" role="status">
          <strong>Stale.</strong> {stale}. These figures are the last ones read{collectedAt ? ` (${ago(collectedAt)})` : ""}, not current values.
        </p>
      )}
      {error && waiting && (
        <p className="waiting" role="status">
          <strong>No data yet.</strong> <span>{error}</span>
          {/snapshot yet/.test(error) ? " This panel fills in after that loop's first run." : " The page retries on every refresh."}
        </p>
      )}
      {error && !waiting && (
        <p className="error" role="status">
          {hasData ? "Showing the previous answer: " : ""}
          {error}
        </p>
      )}
      {failed.map(([section, reason]) => (
        <p className="error" key={section}>
          Section <code>{section}</code> failed on the agent: {reason}
        </p>
      ))}
      {state === "loading" && <p className="muted">Loading…</p>}
      {hasData && children}
      <SqlUsed sql={sql} note={sqlNote} />
    </section>
  );
}

/** An empty state that says why there is nothing to show, and what to do about it. */
export function Empty({ children }: { children: React.ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A single-section endpoint's `error` as a section error: the answer is current, the section failed. */
export function sectionError(section: string, error: string | null | undefined): Record<string, string> | null {
  return error ? { [section]: error } : null;
}
