// Replication: on a primary, per-replica write/flush/replay lag and bytes behind; on a
// standby, its own receive-replay bytes and replay delay. Then what takes a disk down: the
// replication slots and the WAL each retains, WAL archiving, and the size of pg_wal.
import type { Schemas } from "../api";
import { Severity } from "../components/Bits";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { bytes, duration, num } from "../format";
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
      sectionErrors={{ ...sectionError("replication", d?.error), ...(d?.errors ?? {}) }}
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
      {d && <Slots slots={d.slots} />}
      {d?.archiving && <ArchivingFacts a={d.archiving} />}
      {d?.wal_directory && <WalDirectoryFacts w={d.wal_directory} />}
    </Panel>
  );
}

type SlotRetention = Schemas["SlotRetention"];

const severityRank = (s: string | null | undefined) => (s === "crit" ? 2 : s === "warn" ? 1 : 0);

function Slots({ slots }: { slots: SlotRetention[] | null }) {
  if (!slots) return null;
  if (slots.length === 0) return <><h3>Replication slots</h3><Empty>No replication slot on this server.</Empty></>;
  return (
    <>
      <h3>Replication slots</h3>
      <DataTable
        label="Replication slots"
        rows={slots}
        rowKey={(s) => s.slot}
        initialSort={{ key: "retained", descending: true }}
        columns={[
          { key: "slot", label: "Slot", render: (s) => <code>{s.slot}</code>, sortValue: (s) => s.slot },
          { key: "type", label: "Type", render: (s) => s.slot_type + (s.database ? ` (${s.database})` : "") },
          { key: "active", label: "Active", render: (s) => (s.active ? "active" : <span className="warn-text">inactive</span>), sortValue: (s) => (s.active ? 1 : 0) },
          { key: "retained", label: "WAL retained", numeric: true, title: "from this server's current WAL position back to the slot's restart_lsn", render: (s) => bytes(s.retained_bytes), sortValue: (s) => s.retained_bytes },
          { key: "status", label: "WAL status", title: "PostgreSQL 13+: reserved, extended, unreserved (about to be removed) or lost", render: (s) => s.wal_status ?? "n/a" },
          { key: "safe", label: "Safe WAL size", numeric: true, title: "bytes that can still be written before this slot's WAL is at risk (max_slot_wal_keep_size); empty when unlimited", render: (s) => bytes(s.safe_wal_size_bytes), sortValue: (s) => s.safe_wal_size_bytes },
          { key: "xmin", label: "xmin age", numeric: true, title: "transactions since the xmin / catalog_xmin the slot holds back; vacuum cannot remove newer rows", render: (s) => num(Math.max(s.xmin_age ?? 0, s.catalog_xmin_age ?? 0) || null), sortValue: (s) => Math.max(s.xmin_age ?? 0, s.catalog_xmin_age ?? 0) },
          { key: "severity", label: "Verdict", render: (s) => <><Severity severity={s.severity} /> {s.verdict ?? ""}</>, sortValue: (s) => severityRank(s.severity) },
        ]}
      />
    </>
  );
}

function ArchivingFacts({ a }: { a: Schemas["ArchivingStatus"] }) {
  return (
    <>
      <h3>WAL archiving</h3>
      {!a.enabled ? (
        <Empty>Archiving is off (archive_mode = {a.archive_mode}): no archive_command runs.</Empty>
      ) : (
        <dl className="facts">
          <dt>archive_mode</dt>
          <dd>{a.archive_mode}</dd>
          <dt>Archived / failed</dt>
          <dd>{num(a.archived_total)} / {num(a.failed_total)}</dd>
          <dt>Last archived</dt>
          <dd>{a.last_archived_wal ? <><code>{a.last_archived_wal}</code> {duration(a.last_archived_seconds)} ago</> : "none since the statistics reset"}</dd>
          <dt>Last failed</dt>
          <dd>{a.last_failed_wal ? <><code>{a.last_failed_wal}</code> {duration(a.last_failed_seconds)} ago</> : "none"}</dd>
          <dt title="completed WAL segments waiting for archive_command">Segments waiting</dt>
          <dd>
            {a.ready_segments == null
              ? "not listed (the role may not run pg_ls_archive_statusdir(): GRANT pg_monitor)"
              : `${num(a.ready_segments)}${a.oldest_ready_seconds != null ? `, the oldest for ${duration(a.oldest_ready_seconds)}` : ""}`}
          </dd>
          <dt>Verdict</dt>
          <dd>
            {a.failing || a.stalled ? (
              <><Severity severity={a.failing ?? a.stalled} /> {a.failing ? "failing" : "stalled"}: {a.verdict}</>
            ) : (
              "archiving keeps up"
            )}
          </dd>
        </dl>
      )}
    </>
  );
}

function WalDirectoryFacts({ w }: { w: Schemas["WalDirectory"] }) {
  const fraction = w.fraction_of_max_wal_size;
  const over = fraction != null && fraction > 1;
  return (
    <>
      <h3>WAL directory</h3>
      <dl className="facts">
        <dt>pg_wal</dt>
        {w.bytes == null ? (
          <dd>not listed: {w.unavailable_reason}</dd>
        ) : (
          <dd>
            <span className={over ? "warn-text" : undefined}>{bytes(w.bytes)}</span> in {num(w.segments)} segments
            {fraction != null ? `, ${num(fraction * 100)} % of max_wal_size (${bytes(w.max_wal_size_bytes)})` : ""}
            {over ? ": something holds WAL back (a slot, archiving, wal_keep_size)" : ""}
          </dd>
        )}
      </dl>
    </>
  );
}
