// The panels, in navigation order. Each has a deep link `#/<id>`; anything else opens the
// overview.

export const PANEL_IDS = [
  "overview",
  "autovacuum",
  "top-queries",
  "stale-stats",
  "storage",
  "bloat",
  "partitions",
  "replication",
  "settings",
  "wraparound",
  "alerts",
  "health",
] as const;

export type PanelId = (typeof PANEL_IDS)[number];

export const PANEL_TITLES: Record<PanelId, string> = {
  overview: "Overview",
  autovacuum: "Autovacuum",
  "top-queries": "Top queries",
  "stale-stats": "Stale stats",
  storage: "Storage & indexes",
  bloat: "Bloat",
  partitions: "Partitions",
  replication: "Replication",
  settings: "Settings",
  wraparound: "Wraparound",
  alerts: "Alerts",
  health: "Agent health",
};

function known(id: string): PanelId | null {
  return (PANEL_IDS as readonly string[]).includes(id) ? (id as PanelId) : null;
}

/** "#/storage" -> "storage"; "", "#/nope" -> "overview". */
export function panelFromHash(hash: string): PanelId {
  return known(hash.replace(/^#\/?/, "").split(/[/?]/)[0]) ?? "overview";
}

/** The hash wins; without one, a path like "/storage" (the agent serves the page there too). */
export function panelFromLocation(pathname: string, hash: string): PanelId {
  if (hash.replace(/^#\/?/, "") !== "") return panelFromHash(hash);
  return known(pathname.replace(/\/+$/, "").split("/").pop() ?? "") ?? "overview";
}
