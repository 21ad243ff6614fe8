// Bloat: pgstattuple_approx samples of the Top-N tables (free space and dead tuples), and the
// tables not sampled this run with why (a lock, the budget, a failed sample).
import type { Envelope, SkippedRelation } from "../api";
import { SkippedNote } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { bytes, pct } from "../format";
import { useApi } from "../refresh";

interface BloatSample {
  relation: string;
  table_bytes: number;
  scanned_percent: number;
  free_bytes: number;
  free_percent: number;
  dead_tuple_bytes: number;
  dead_tuple_percent: number;
}

interface BloatResponse extends Envelope {
  bloat: { available: boolean; unavailable_reason: string | null; samples: BloatSample[]; skipped: string[]; skipped_relations?: SkippedRelation[] } | null;
}

/** Each skipped table with why; a bare name when the agent gave none. */
function skippedTables(b: NonNullable<BloatResponse["bloat"]>): SkippedRelation[] {
  return b.skipped_relations ?? b.skipped.map((relation) => ({ relation, reason: "not sampled" }));
}

export function BloatPanel() {
  const r = useApi<BloatResponse>("api/v1/bloat");
  const b = r.data?.bloat;
  return (
    <Panel id="bloat" title="Bloat" loading={r.loading} error={r.error} status={r.status} sectionErrors={sectionError("bloat", r.data?.error)} collectedAt={r.data?.collected_at} stale={r.data?.stale} sql={r.data?.sql} hasData={r.data !== null}>
      {b && <SkippedNote relations={skippedTables(b)} lead="these tables were not sampled; every sample below is current." />}
      {r.data && !b && <Empty>Bloat not sampled this run: see the section error above.</Empty>}
      {b && !b.available && (
        <Empty>
          <strong>pgstattuple is not installed.</strong> {b.unavailable_reason ?? ""} Run <code>CREATE EXTENSION pgstattuple;</code> in the
          monitored database (the role needs pg_stat_scan_tables, part of pg_monitor).
        </Empty>
      )}
      {b && b.available && b.samples.length === 0 && <Empty>{skippedTables(b).length > 0 ? "No table sampled this run: see the skipped tables above." : "No table sampled yet."}</Empty>}
      {b && b.available && b.samples.length > 0 && (
        <DataTable
          label="Bloat samples"
          rows={b.samples}
          rowKey={(s) => s.relation}
          initialSort={{ key: "free", descending: true }}
          columns={[
            { key: "relation", label: "Table", render: (s) => <code>{s.relation}</code>, sortValue: (s) => s.relation },
            { key: "size", label: "Table size", numeric: true, render: (s) => bytes(s.table_bytes), sortValue: (s) => s.table_bytes },
            { key: "free", label: "Free", numeric: true, render: (s) => bytes(s.free_bytes), sortValue: (s) => s.free_bytes },
            { key: "freep", label: "Free %", numeric: true, render: (s) => pct(s.free_percent), sortValue: (s) => s.free_percent },
            { key: "dead", label: "Dead tuples", numeric: true, render: (s) => bytes(s.dead_tuple_bytes), sortValue: (s) => s.dead_tuple_bytes },
            { key: "deadp", label: "Dead %", numeric: true, render: (s) => pct(s.dead_tuple_percent), sortValue: (s) => s.dead_tuple_percent },
            { key: "scanned", label: "Scanned", numeric: true, title: "share of pages pgstattuple_approx actually read", render: (s) => pct(s.scanned_percent), sortValue: (s) => s.scanned_percent },
          ]}
        />
      )}
    </Panel>
  );
}
