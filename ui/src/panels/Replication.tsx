// Replication: on a primary, per-replica write/flush/replay lag and bytes behind; on a
// standby, its own receive-replay bytes and replay delay.
import type { Schemas } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { bytes, duration } from "../format";
import { useApi } from "../refresh";


type ReplicationResponse = Schemas["ReplicationResponse"];

export function ReplicationPanel() {
  const r = useApi<ReplicationResponse>("api/v1/replication");
  const d = r.data;
  return (
    <Panel
      id="replication"
      title="Replication"
      loading={r.loading}
      error={r.error}
      status={r.status}
      sectionErrors={sectionError("replication", d?.error)}
      collectedAt={d?.collected_at} stale={d?.stale}
      sql={d?.sql}
      hasData={d !== null}
    >
      {d && !d.role && <Empty>Replication status not collected this run{d.error ? ": see the section error above" : ""}.</Empty>}
      {d?.role && <p>This server is a <strong>{d.role}</strong>.</p>}
      {d?.role === "primary" && d.replicas && d.replicas.length === 0 && <Empty>No replica is connected to this primary.</Empty>}
      {d?.replicas && d.replicas.length > 0 && (
        <DataTable
          label="Replicas"
          rows={d.replicas}
          rowKey={(x) => x.replica}
          initialSort={{ key: "replay", descending: true }}
          columns={[
            { key: "replica", label: "Replica", render: (x) => <code>{x.replica}</code>, sortValue: (x) => x.replica },
            { key: "state", label: "State", render: (x) => x.state },
            { key: "sync", label: "Sync", render: (x) => x.sync_state },
            { key: "write", label: "Write lag", numeric: true, render: (x) => duration(x.write_lag_seconds), sortValue: (x) => x.write_lag_seconds },
            { key: "flush", label: "Flush lag", numeric: true, render: (x) => duration(x.flush_lag_seconds), sortValue: (x) => x.flush_lag_seconds },
            { key: "replay", label: "Replay lag", numeric: true, render: (x) => duration(x.replay_lag_seconds), sortValue: (x) => x.replay_lag_seconds },
            { key: "bytes", label: "Sent − replayed", numeric: true, title: "WAL sent to the replica but not replayed there yet", render: (x) => bytes(x.lag_bytes), sortValue: (x) => x.lag_bytes },
            { key: "total", label: "Behind current WAL", numeric: true, title: "from this primary's current WAL position to the replica's replay position", render: (x) => bytes(x.total_lag_bytes), sortValue: (x) => x.total_lag_bytes },
          ]}
        />
      )}
      {d?.role === "standby" && !d.standby && <Empty>This standby's own lag was not reported this run.</Empty>}
      {d?.standby && (
        <dl className="facts">
          <dt title="WAL received from the primary but not replayed yet">Received − replayed</dt>
          <dd>{bytes(d.standby.receive_replay_lag_bytes)}</dd>
          <dt title="time since the last replayed transaction committed on the primary; 0 when streaming and caught up">Replay delay</dt>
          <dd>{duration(d.standby.replay_lag_seconds)}</dd>
          <dt>WAL receiver</dt>
          <dd>{d.standby.receiver_status ?? "not running"}</dd>
        </dl>
      )}
      {d?.role === "standby" && d.replicas && d.replicas.length === 0 && (
        <Empty>No cascading replica streams from this standby; per-replica lag is shown on the primary.</Empty>
      )}
    </Panel>
  );
}
