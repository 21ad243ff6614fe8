// Bloat: the free-space map of the Top-N tables (storage loop, what VACUUM found reusable: it sees
// space a dead-tuple count cannot once VACUUM has run), pgstattuple_approx samples of the Top-N
// tables (free space and dead tuples) and pgstatindex samples of the Top-N B-tree indexes (leaf
// density, fragmentation), each with what was not read this run and why.
import type { SkippedRelation, Schemas } from "../api";
import { SkippedNote } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { bytes, pct } from "../format";
import { useApi } from "../refresh";


type IndexBloatSample = Schemas["IndexBloatSample"];

type FreeSpaceRow = Schemas["FreeSpaceRow"];

type BloatResponse = Schemas["BloatResponse"];

/** The free-space map figures of the storage loop's Top-N tables, or why there are none. */
function FreeSpaceMap({ rows, status }: { rows: FreeSpaceRow[]; status: BloatResponse["free_space_map_status"] }) {
  if (status && !status.available) {
    return (
      <Empty>
        <strong>No free-space map figures.</strong> {status.unavailable_reason ?? ""}
      </Empty>
    );
  }
  const read = rows.filter((r) => r.fsm_free_bytes !== null);
  if (read.length === 0) return <Empty>No free-space map read yet.</Empty>;
  return (
    <>
      {status && <SkippedNote relations={status.skipped_relations} lead="the free-space map of these tables could not be read; every figure below is current." />}
      <DataTable
        label="Free space by table"
        rows={read}
        rowKey={(f) => f.relation}
        initialSort={{ key: "free", descending: true }}
        columns={[
          { key: "relation", label: "Table", render: (f) => <code>{f.relation}</code>, sortValue: (f) => f.relation },
          { key: "size", label: "Heap", numeric: true, render: (f) => bytes(f.table_bytes), sortValue: (f) => f.table_bytes },
          { key: "free", label: "Free (FSM)", numeric: true, render: (f) => bytes(f.fsm_free_bytes ?? 0), sortValue: (f) => f.fsm_free_bytes },
          { key: "ratio", label: "Free %", numeric: true, render: (f) => pct((f.fsm_free_ratio ?? 0) * 100), sortValue: (f) => f.fsm_free_ratio },
          { key: "est", label: "Bloat estimate", numeric: true, title: "free-space map free bytes + heap × dead / (live + dead), at most the heap", render: (f) => bytes(f.bloat_estimated_bytes), sortValue: (f) => f.bloat_estimated_bytes },
        ]}
      />
    </>
  );
}

/** pgstatindex samples: a fresh B-tree packs its leaves to about 90 %; below 50 % on 64+ leaf pages it is worth a REINDEX. */
function IndexSamples({ indexes, skipped }: { indexes: IndexBloatSample[]; skipped: SkippedRelation[] }) {
  return (
    <>
      <SkippedNote relations={skipped} lead="these indexes were not sampled; every sample below is current." />
      {indexes.length === 0 ? (
        <Empty>No B-tree index sampled this run.</Empty>
      ) : (
        <DataTable
          label="Index bloat samples"
          rows={indexes}
          rowKey={(i) => i.index}
          initialSort={{ key: "density", descending: false }}
          columns={[
            { key: "index", label: "Index", render: (i) => <code>{i.index}</code>, sortValue: (i) => i.index },
            { key: "size", label: "Size", numeric: true, render: (i) => bytes(i.index_bytes), sortValue: (i) => i.index_bytes },
            { key: "density", label: "Leaf density", numeric: true, title: "average fullness of the leaf pages: about 90 % fresh (fillfactor 90); below 50 % on an index of 64+ leaf pages a REINDEX is suggested", render: (i) => (i.avg_leaf_density === null ? "—" : pct(i.avg_leaf_density)), sortValue: (i) => i.avg_leaf_density },
            { key: "frag", label: "Fragmentation", numeric: true, title: "leaf pages out of physical order", render: (i) => (i.leaf_fragmentation === null ? "—" : pct(i.leaf_fragmentation)), sortValue: (i) => i.leaf_fragmentation },
            { key: "fix", label: "Fix", render: (i) => (i.fix ? <code>{i.fix}</code> : null) },
          ]}
        />
      )}
    </>
  );
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
      {r.data && (
        <>
          <h3>Free space (free-space map)</h3>
          <p className="muted">What VACUUM found reusable in each of the largest tables, read from the small free-space map fork (pg_freespacemap): unlike a dead-tuple count it still sees half-empty pages after a VACUUM.</p>
          <FreeSpaceMap rows={r.data.free_space_map ?? []} status={r.data.free_space_map_status} />
          <h3>Table samples (pgstattuple_approx)</h3>
        </>
      )}
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
      {b && b.available && (
        <>
          <h3>B-tree indexes (pgstatindex)</h3>
          <IndexSamples indexes={b.indexes ?? []} skipped={b.skipped_indexes ?? []} />
        </>
      )}
    </Panel>
  );
}
