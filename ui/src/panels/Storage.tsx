// Storage & indexes: Top-N tables by total bytes with the heap/index/TOAST split and growth,
// Top-N indexes with scans, the unused-index spotlight (never scanned, over the threshold), and
// the relations a lock kept out of this run.
import type { Schemas } from "../api";
import { SkippedNote } from "../components/Bits";
import { DataTable, type Column } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { ago, bytes, num, pct } from "../format";
import { useApi } from "../refresh";

type RelationSize = Schemas["RelationSize"];

type IndexSize = Schemas["IndexSize"];


/** Index, table and size: the columns every index list starts with. */
const INDEX_COLUMNS: Column<IndexSize>[] = [
  { key: "index", label: "Index", render: (i) => <code>{i.index}</code>, sortValue: (i) => i.index },
  { key: "rel", label: "Table", render: (i) => <code>{i.relation}</code>, sortValue: (i) => i.relation },
  { key: "bytes", label: "Size", numeric: true, render: (i) => bytes(i.bytes), sortValue: (i) => i.bytes },
];

/** Heap / index / TOAST as one stacked bar, so the split reads at a glance. */
function Split({ r }: { r: RelationSize }) {
  const total = Math.max(r.total_bytes, 1);
  const part = (b: number) => `${((100 * b) / total).toFixed(1)}%`;
  return (
    <div className="split" title={`heap ${bytes(r.table_bytes)} · index ${bytes(r.index_bytes)} · TOAST ${bytes(r.toast_bytes)}`}>
      <span className="split-heap" style={{ width: part(r.table_bytes) }} />
      <span className="split-index" style={{ width: part(r.index_bytes) }} />
      <span className="split-toast" style={{ width: part(r.toast_bytes) }} />
    </div>
  );
}

export function StoragePanel() {
  const storage = useApi<Schemas["StorageResponse"]>("api/v1/storage");
  const unused = useApi<Schemas["UnusedIndexesResponse"]>("api/v1/unused-indexes");
  const s = storage.data;
  const u = unused.data?.unused_indexes;
  const sql = [...(s?.sql ?? []), ...(unused.data?.sql ?? [])];
  const sectionErrors = { ...(s?.errors ?? {}), ...(sectionError("unused_indexes", unused.data?.error) ?? {}) };
  return (
    <Panel
      id="storage"
      title="Storage & indexes"
      loading={storage.loading}
      error={storage.error}
      status={storage.status}
      sectionErrors={sectionErrors}
      collectedAt={s?.collected_at} stale={s?.stale}
      sql={sql}
      hasData={s !== null}
    >
      {s && (
        <>
          <SkippedNote
            relations={s.skipped_relations}
            lead="a lock held or awaited by another session kept these sizes from being read; every other size below is current."
          />
          <h3>Unused indexes</h3>
          {u ? (
            <>
              <p className="muted">
                Never scanned (idx_scan = 0) and at least {bytes(u.min_bytes)}; observed since {u.observed_since ? `${u.observed_since} (${ago(u.observed_since)})` : "the statistics were reset"}.
              </p>
              {u.indexes.length === 0 ? (
                <Empty>No unused index of {bytes(u.min_bytes)} or more.</Empty>
              ) : (
                <DataTable
                  label="Unused indexes"
                  rows={u.indexes}
                  rowKey={(i) => i.index}
                  initialSort={{ key: "bytes", descending: true }}
                  columns={[
                    ...INDEX_COLUMNS,
                    { key: "drop", label: "If truly unused", render: (i) => <code>DROP INDEX CONCURRENTLY {i.index};</code> },
                  ]}
                />
              )}
              {u.constraint_indexes.length > 0 && (
                <p className="muted">
                  Also never scanned but backing a primary key, unique or exclusion constraint (kept):{" "}
                  {u.constraint_indexes.map((i) => `${i.index} (${bytes(i.bytes)})`).join(", ")}.
                </p>
              )}
            </>
          ) : (
            <Empty>
              {unused.loading
                ? "Loading…"
                : unused.error
                  ? `Unused indexes unavailable: ${unused.error}`
                  : "Not collected this run: see the section error above."}
            </Empty>
          )}

          <h3>Largest tables</h3>
          {s.free_space && !s.free_space.available && (
            <p className="muted" data-testid="free-space-unavailable">
              {s.free_space.unavailable_reason}
            </p>
          )}
          {!s.tables && <Empty>Table sizes not collected this run: see the section error above.</Empty>}
          {s.tables && s.tables.length === 0 && <Empty>No user tables in this database.</Empty>}
          {s.tables && s.tables.length > 0 && (
            <DataTable
              label="Largest tables"
              rows={s.tables}
              rowKey={(r) => r.relation}
              initialSort={{ key: "total", descending: true }}
              columns={[
                { key: "relation", label: "Table", render: (r) => <code>{r.relation}</code>, sortValue: (r) => r.relation },
                { key: "kind", label: "Kind", render: (r) => (r.relkind === "m" ? "matview" : r.relkind === "p" ? "partitioned" : "table") },
                { key: "total", label: "Total", numeric: true, render: (r) => bytes(r.total_bytes), sortValue: (r) => r.total_bytes },
                { key: "split", label: "Heap · index · TOAST", render: (r) => <Split r={r} /> },
                { key: "heap", label: "Heap", numeric: true, render: (r) => bytes(r.table_bytes), sortValue: (r) => r.table_bytes },
                { key: "index", label: "Indexes", numeric: true, render: (r) => bytes(r.index_bytes), sortValue: (r) => r.index_bytes },
                { key: "toast", label: "TOAST", numeric: true, render: (r) => bytes(r.toast_bytes), sortValue: (r) => r.toast_bytes },
                { key: "dead", label: "% dead", numeric: true, render: (r) => pct(r.pct_dead), sortValue: (r) => r.pct_dead },
                { key: "fsm", label: "Free (FSM)", numeric: true, title: "free bytes the free-space map records: what VACUUM found reusable", render: (r) => (r.fsm_free_bytes == null ? "—" : `${bytes(r.fsm_free_bytes)} (${pct((r.fsm_free_ratio ?? 0) * 100)})`), sortValue: (r) => r.fsm_free_bytes },
                {
                  key: "bloat",
                  label: "Bloat (est.)",
                  numeric: true,
                  title: "free-space map free bytes + heap × dead / (live + dead), at most the heap; marked “dead tuples only” without pg_freespacemap, which reads 0 right after a VACUUM",
                  render: (r) => (r.bloat_estimate_basis === "dead_tuples_only" ? <span title="dead tuples only: no free-space map figure for this table">{bytes(r.bloat_estimated_bytes)} <span className="muted">(dead tuples only)</span></span> : bytes(r.bloat_estimated_bytes)),
                  sortValue: (r) => r.bloat_estimated_bytes,
                },
                { key: "growth", label: "Growth", numeric: true, title: "since the previous storage snapshot", render: (r) => (r.growth_bytes === null ? "—" : bytes(r.growth_bytes)), sortValue: (r) => r.growth_bytes },
                { key: "rate", label: "Per hour", numeric: true, render: (r) => (r.growth_bytes_per_hour === null ? "—" : bytes(r.growth_bytes_per_hour)), sortValue: (r) => r.growth_bytes_per_hour },
              ]}
            />
          )}
          <p className="legend muted">
            <span className="split-heap swatch" /> heap <span className="split-index swatch" /> indexes <span className="split-toast swatch" /> TOAST
          </p>

          <h3>Largest indexes</h3>
          {!s.indexes && <Empty>Index sizes not collected this run: see the section error above.</Empty>}
          {s.indexes && s.indexes.length === 0 && <Empty>No indexes on user tables in this database.</Empty>}
          {s.indexes && s.indexes.length > 0 && (
            <DataTable
              label="Largest indexes"
              rows={s.indexes}
              rowKey={(i) => i.index}
              initialSort={{ key: "bytes", descending: true }}
              columns={[
                ...INDEX_COLUMNS,
                { key: "scans", label: "Scans", numeric: true, render: (i) => num(i.idx_scan), sortValue: (i) => i.idx_scan },
                { key: "constraint", label: "Constraint", render: (i) => (i.backs_constraint ? "yes" : "") },
              ]}
            />
          )}
        </>
      )}
    </Panel>
  );
}
