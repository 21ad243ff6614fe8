// Partitions: the horizon per partitioned parent (newest upper bound against now, cadence),
// holes between children, the default partition, and the suggested next range with its DDL
// to copy (never executed by the agent): identifiers quoted as quote_ident() does, months added
// as PostgreSQL adds them (the 31st + 1 month is the next month's last day), timestamptz bounds
// extended in the zone they were written in.
import { useState } from "react";
import type { Schemas } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { duration } from "../format";
import { useApi } from "../refresh";


type Parent = Schemas["PartitionedParent"];

/** "daily"; a fixed width shows its size (a duration for time keys, integer units otherwise). */
function cadence(p: Parent): string {
  if (!p.cadence) return "—";
  if (p.cadence !== "fixed" || p.cadence_seconds === null) return p.cadence;
  return `fixed, ${p.key_kind === "integer" ? `${p.cadence_seconds} values` : duration(p.cadence_seconds)}`;
}

function CopyDdl({ ddl }: { ddl: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="ddl">
      <code>{ddl}</code>
      <button type="button" className="link" onClick={() => void navigator.clipboard?.writeText(ddl).then(() => setCopied(true))}>
        {copied ? "copied" : "copy"}
      </button>
    </div>
  );
}

export function PartitionsPanel() {
  const r = useApi<Schemas["PartitionsResponse"]>("api/v1/partitions");
  const parents = r.data?.parents;
  const holes = (parents ?? []).flatMap((p) => p.holes.map((h) => ({ ...h, parent: p.parent })));
  return (
    <Panel id="partitions" title="Partitions" loading={r.loading} error={r.error} status={r.status} sectionErrors={sectionError("partitions", r.data?.error)} collectedAt={r.data?.collected_at} stale={r.data?.stale} sql={r.data?.sql} hasData={r.data !== null}>
      {r.data && !parents && <Empty>Partitions not collected this run: see the section error above.</Empty>}
      {parents && parents.length === 0 && <Empty>No partitioned tables in this database.</Empty>}
      {parents && parents.length > 0 && (
        <>
          <DataTable
            label="Partition horizon"
            rows={parents}
            rowKey={(p) => p.parent}
            initialSort={{ key: "gap", descending: false }}
            columns={[
              { key: "parent", label: "Parent", render: (p) => <code>{p.parent}</code>, sortValue: (p) => p.parent },
              {
                key: "status",
                label: "Horizon",
                render: (p) =>
                  p.missing_future === null ? <span className="muted">{p.key_kind === "time" ? "—" : "no time horizon"}</span> : p.missing_future ? <span className="badge badge-warn">runs out soon</span> : <span className="badge badge-ok">covered</span>,
                sortValue: (p) => (p.missing_future ? 1 : 0),
              },
              { key: "gap", label: "Covered for", numeric: true, render: (p) => duration(p.future_gap_seconds), sortValue: (p) => p.future_gap_seconds },
              { key: "strategy", label: "Strategy", render: (p) => `${p.strategy}${p.key_type ? ` (${p.key_type})` : ""}` },
              { key: "children", label: "Children", numeric: true, render: (p) => p.children, sortValue: (p) => p.children },
              { key: "cadence", label: "Cadence", render: (p) => cadence(p) },
              { key: "oldest", label: "Oldest lower", render: (p) => p.oldest_lower ?? "—" },
              {
                key: "newest",
                label: "Newest upper",
                title: "timestamptz bounds are shown and extended in the zone they were written in: UTC, or the server's default TimeZone when they fall on whole days there",
                render: (p) => (p.newest_upper ? (p.bounds_time_zone ? <span title={`bounds written in ${p.bounds_time_zone}`}>{p.newest_upper} <span className="muted">({p.bounds_time_zone})</span></span> : p.newest_upper) : "—"),
              },
              { key: "latest", label: "Latest partition", render: (p) => (p.latest_partition ? <code>{p.latest_partition}</code> : "—") },
              { key: "default", label: "Default", render: (p) => p.default_partition ?? "none" },
              { key: "holes", label: "Holes", numeric: true, render: (p) => p.holes.length, sortValue: (p) => p.holes.length },
            ]}
          />
          <h3>Suggested next partitions</h3>
          <p className="muted">
            The range after the newest partition at the parent's cadence (the median width of its ranges). Names are quoted as <code>quote_ident()</code> does; a month added to
            the 31st ends on the next month's last day; <code>timestamptz</code> bounds are extended in the zone they were written in (UTC, or the server's default TimeZone
            when they fall on whole days there). pgmon never runs it.
          </p>
          {parents.filter((p) => p.suggested_next).length === 0 ? (
            <Empty>No suggestion: no parent is range-partitioned on a single date/time or integer column with bounded children.</Empty>
          ) : (
            <ul className="suggestions">
              {parents
                .filter((p) => p.suggested_next)
                .map((p) => (
                  <li key={p.parent}>
                    <code>{p.parent}</code>: next range {p.suggested_next!.from} → {p.suggested_next!.to}
                    <CopyDdl ddl={p.suggested_next!.ddl} />
                  </li>
                ))}
            </ul>
          )}
          <h3>Holes between partitions</h3>
          {holes.length === 0 ? (
            <Empty>No holes: consecutive partitions meet.</Empty>
          ) : (
            <DataTable
              label="Holes between partitions"
              rows={holes}
              rowKey={(h) => `${h.parent}-${h.from}`}
              columns={[
                { key: "parent", label: "Parent", render: (h) => <code>{h.parent}</code> },
                { key: "from", label: "Missing from", render: (h) => h.from },
                { key: "to", label: "to", render: (h) => h.to },
                { key: "len", label: "Length", numeric: true, render: (h) => duration(h.seconds), sortValue: (h) => h.seconds },
                { key: "between", label: "Between", render: (h) => `${h.after} and ${h.before}` },
              ]}
            />
          )}
        </>
      )}
    </Panel>
  );
}
