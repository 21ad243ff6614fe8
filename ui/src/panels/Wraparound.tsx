// Wraparound: XID age per database and the worst relations, each as a share of the 2^31
// limit (autovacuum must freeze long before it is reached).
import type { Schemas } from "../api";
import { Meter } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { compact, num, ratio } from "../format";
import { useApi } from "../refresh";



type WraparoundResponse = Schemas["WraparoundResponse"];

const bar = (fraction: number, label: string) => (
  <div className="bar-cell">
    <Meter value={fraction} max={1} label={label} warnAt={0.7} critAt={0.84} />
    <span>{ratio(fraction, 4)}</span>
  </div>
);

export function WraparoundPanel() {
  const r = useApi<WraparoundResponse>("api/v1/wraparound");
  const d = r.data;
  return (
    <Panel id="wraparound" title="Wraparound" loading={r.loading} error={r.error} status={r.status} sectionErrors={sectionError("wraparound", d?.error)} collectedAt={d?.collected_at} stale={d?.stale} sql={d?.sql} hasData={d !== null}>
      {d && (
        <>
          <p className="muted">
            Limit {compact(d.xid_limit)} transactions; alerts by default warn at 1.5 G and crit at 1.8 G (alerts.wraparound_warn_tx_age / _crit_tx_age).{" "}
            {d.hide_postgres_defaults && "postgres and template databases are hidden (ui.hide_postgres_defaults)."}
          </p>
          <h3>Databases</h3>
          {!d.databases && <Empty>Not collected this run: see the section error above.</Empty>}
          {d.databases && d.databases.length === 0 && <Empty>No user database to show.</Empty>}
          {d.databases && d.databases.length > 0 && (
            <DataTable
              label="Database XID ages"
              rows={d.databases}
              rowKey={(x) => x.database}
              initialSort={{ key: "age", descending: true }}
              columns={[
                { key: "db", label: "Database", render: (x) => x.database, sortValue: (x) => x.database },
                { key: "age", label: "XID age", numeric: true, render: (x) => num(x.xid_age), sortValue: (x) => x.xid_age },
                { key: "pct", label: "% of limit", render: (x) => bar(x.fraction_of_limit, `${x.database} share of the XID limit`), sortValue: (x) => x.fraction_of_limit },
                { key: "mxid", label: "MultiXact age", numeric: true, render: (x) => num(x.mxid_age), sortValue: (x) => x.mxid_age },
              ]}
            />
          )}
          <h3>Oldest relations</h3>
          {!d.relations && <Empty>Not collected this run: see the section error above.</Empty>}
          {d.relations && d.relations.length === 0 && <Empty>No relation with an XID age in this database.</Empty>}
          {d.relations && d.relations.length > 0 && (
            <DataTable
              label="Relation XID ages"
              rows={d.relations}
              rowKey={(x) => x.relation}
              initialSort={{ key: "age", descending: true }}
              columns={[
                { key: "rel", label: "Relation", render: (x) => <code>{x.relation}</code>, sortValue: (x) => x.relation },
                { key: "kind", label: "Kind", render: (x) => x.relkind },
                { key: "age", label: "XID age", numeric: true, render: (x) => num(x.xid_age), sortValue: (x) => x.xid_age },
                { key: "pct", label: "% of limit", render: (x) => bar(x.fraction_of_limit, `${x.relation} share of the XID limit`), sortValue: (x) => x.fraction_of_limit },
              ]}
            />
          )}
        </>
      )}
    </Panel>
  );
}
