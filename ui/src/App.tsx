// The page: title with the cluster label, the degraded banner (on every page, from /api/v1/health, the full report),
// navigation with deep links, "last updated" with pause and refresh, and the current panel.
import { useEffect, useState } from "react";
import type { Health } from "./api";
import { clock } from "./format";
import { AlertsPanel } from "./panels/Alerts";
import { AutovacuumPanel } from "./panels/Autovacuum";
import { BloatPanel } from "./panels/Bloat";
import { HealthPanel } from "./panels/Health";
import { OverviewPanel } from "./panels/Overview";
import { PartitionsPanel } from "./panels/Partitions";
import { ReplicationPanel } from "./panels/Replication";
import { SettingsPanel } from "./panels/Settings";
import { StaleStatsPanel } from "./panels/StaleStats";
import { StoragePanel } from "./panels/Storage";
import { TopQueriesPanel } from "./panels/TopQueries";
import { WraparoundPanel } from "./panels/Wraparound";
import { useApi, useRefresh, type ApiState } from "./refresh";
import { PANEL_IDS, PANEL_TITLES, panelFromLocation, type PanelId } from "./routes";

function usePanelFromHash(): PanelId {
  const [panel, setPanel] = useState(() => panelFromLocation(window.location.pathname, window.location.hash));
  useEffect(() => {
    const onHash = () => setPanel(panelFromLocation(window.location.pathname, window.location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return panel;
}

function CurrentPanel({ panel, health }: { panel: PanelId; health: ApiState<Health> }) {
  switch (panel) {
    case "overview":
      return <OverviewPanel />;
    case "autovacuum":
      return <AutovacuumPanel />;
    case "top-queries":
      return <TopQueriesPanel />;
    case "stale-stats":
      return <StaleStatsPanel />;
    case "storage":
      return <StoragePanel />;
    case "bloat":
      return <BloatPanel />;
    case "partitions":
      return <PartitionsPanel />;
    case "replication":
      return <ReplicationPanel />;
    case "settings":
      return <SettingsPanel />;
    case "wraparound":
      return <WraparoundPanel />;
    case "alerts":
      return <AlertsPanel />;
    case "health":
      return <HealthPanel health={health} />;
  }
}

/** Shown on every page while the agent is degraded or cannot be reached at all. */
export function DegradedBanner({ health }: { health: ApiState<Health> }) {
  const h = health.data;
  if (health.error && health.status === 0) {
    return (
      <div className="banner banner-crit" role="alert" data-testid="degraded">
        <strong>The agent is not answering.</strong> {health.error}
      </div>
    );
  }
  if (health.error && !h) {
    // The agent answered, but without a health report (e.g. 503 "state unavailable", 401).
    return (
      <div className="banner banner-crit" role="alert" data-testid="degraded">
        <strong>Agent health unavailable</strong> (HTTP {health.status}): {health.error}
      </div>
    );
  }
  if (!h || h.status === "ok") return null;
  if (h.status === "starting") {
    return (
      <div className="banner banner-warn" role="status" data-testid="starting">
        <strong>Starting:</strong> waiting for the first run of the hot path.
      </div>
    );
  }
  return (
    <div className="banner banner-crit" role="alert" data-testid="degraded">
      <strong>Agent degraded</strong>
      {h.database && !h.database.reachable && h.database.error ? ` — ${h.database.error}` : ""}
      <ul>
        {(h.degraded ?? []).map((d) => (
          <li key={d}>{d}</li>
        ))}
      </ul>
      <a href="#/health">Agent health</a>
    </div>
  );
}

export function App() {
  const panel = usePanelFromHash();
  const health = useApi<Health>("api/v1/health", [503]);
  const { paused, setPaused, refreshNow, lastUpdated } = useRefresh();
  const cluster = health.data?.cluster;
  useEffect(() => {
    document.title = `pgmon · ${cluster ?? "…"} · ${PANEL_TITLES[panel]}`;
  }, [cluster, panel]);
  return (
    <div className="app">
      <header className="top">
        <h1>
          pgmon <span className="cluster">{cluster ?? "…"}</span>
          {health.data && <span className="db muted"> db {health.data.db}</span>}
        </h1>
        <div className="controls">
          <span className="muted" data-testid="last-updated">
            {lastUpdated ? `updated ${clock(lastUpdated)}` : "not updated yet"}
            {paused ? " · paused" : ""}
          </span>
          <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? "Resume" : "Pause"}
          </button>
          <button type="button" onClick={refreshNow}>
            Refresh
          </button>
        </div>
      </header>
      <DegradedBanner health={health} />
      <nav className="tabs" aria-label="Panels">
        {PANEL_IDS.map((id) => (
          <a key={id} href={`#/${id}`} aria-current={id === panel ? "page" : undefined}>
            {PANEL_TITLES[id]}
          </a>
        ))}
      </nav>
      <main>
        <CurrentPanel key={panel} panel={panel} health={health} />
      </main>
      <footer className="muted">
        Read-only PostgreSQL health agent · <a href="metrics">/metrics</a> · <a href="healthz">/healthz</a> · <a href="api/v1/overview">API</a>
      </footer>
    </div>
  );
}
