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
  wraparound: "Wraparound",
  alerts: "Alerts",
  health: "Agent health",
};

/** "#/storage" -> "storage"; "", "#/nope" -> "overview". */
export function panelFromHash(hash: string): PanelId {
  const id = hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return (PANEL_IDS as readonly string[]).includes(id) ? (id as PanelId) : "overview";
}
