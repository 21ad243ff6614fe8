// Settings: configuration drift. Every setting change the agent saw between two runs (old, new,
// source, when), the settings whose new value waits for a restart and for how long, the
// configuration file lines PostgreSQL could not apply, and the settings spec §9 recommends.
import type { Schemas } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, Panel, sectionError } from "../components/Panel";
import { ago, duration, num } from "../format";
import { useApi } from "../refresh";

type SettingsResponse = Schemas["SettingsResponse"];

export function SettingsPanel() {
  const r = useApi<SettingsResponse>("api/v1/settings");
  const d = r.data;
  return (
    <Panel
      id="settings"
      title="Settings"
      loading={r.loading}
      error={r.error}
      status={r.status}
      sectionErrors={sectionError("settings", d?.error)}
      collectedAt={d?.collected_at}
      stale={d?.stale}
      sql={d?.sql}
      hasData={d !== null}
    >
      {d && !d.changes && <Empty>Settings not collected this run: see the section error above.</Empty>}
      {d?.pending_restart && (
        <>
          <h3>Waiting for a restart</h3>
          {d.pending_restart.length === 0 ? (
            <Empty>No changed setting waits for a restart.</Empty>
          ) : (
            <DataTable
              label="Settings pending restart"
              rows={d.pending_restart}
              rowKey={(p) => p.name}
              initialSort={{ key: "age", descending: true }}
              columns={[
                { key: "name", label: "Setting", render: (p) => <code>{p.name}</code>, sortValue: (p) => p.name },
                { key: "running", label: "Running with", render: (p) => p.running },
                { key: "pending", label: "Waiting value", title: "from pg_file_settings, when the role may read it", render: (p) => p.pending ?? "not readable" },
                {
                  key: "age",
                  label: "Seen waiting for",
                  numeric: true,
                  title: `alerts after ${duration(d.pending_restart_alert_after_seconds)} (alerts.pending_restart_after)`,
                  render: (p) => <span className={p.pending_seconds >= d.pending_restart_alert_after_seconds ? "warn-text" : undefined}>{duration(p.pending_seconds)}</span>,
                  sortValue: (p) => p.pending_seconds,
                },
              ]}
            />
          )}
        </>
      )}
      {d?.changes && (
        <>
          <h3>Changes seen</h3>
          <p className="muted">
            {num(d.changes_observed_total)} change(s) since the agent started; the last {num(d.history_limit)} are kept. The first run is the baseline.
          </p>
          {d.changes.length === 0 ? (
            <Empty>No setting changed since the agent started watching.</Empty>
          ) : (
            <DataTable
              label="Setting changes"
              rows={d.changes}
              rowKey={(c) => `${c.seen_at} ${c.name}`}
              initialSort={{ key: "seen", descending: true }}
              columns={[
                { key: "seen", label: "Seen", render: (c) => <span title={c.seen_at}>{ago(c.seen_at)}</span>, sortValue: (c) => c.seen_at },
                { key: "name", label: "Setting", render: (c) => <code>{c.name}</code>, sortValue: (c) => c.name },
                { key: "old", label: "Old", render: (c) => c.old ?? "(absent)" },
                { key: "new", label: "New", render: (c) => c.new ?? "(removed)" },
                { key: "source", label: "Source", render: (c) => (c.old_source && c.old_source !== c.source ? `${c.old_source} → ${c.source ?? "none"}` : c.source ?? "") },
              ]}
            />
          )}
        </>
      )}
      {d && d.changes && (
        <>
          <h3>Configuration file errors</h3>
          {d.file_errors == null ? (
            <Empty>Not readable: {d.file_errors_unavailable_reason}</Empty>
          ) : d.file_errors.length === 0 ? (
            <Empty>Every line of the configuration files applies.</Empty>
          ) : (
            <DataTable
              label="Configuration file errors"
              rows={d.file_errors}
              rowKey={(e) => `${e.sourcefile}:${e.sourceline}`}
              columns={[
                { key: "where", label: "Line", render: (e) => <code>{`${e.sourcefile}:${e.sourceline}`}</code> },
                { key: "name", label: "Setting", render: (e) => e.name },
                { key: "error", label: "Error", render: (e) => e.error },
              ]}
            />
          )}
        </>
      )}
      {d?.recommended && (
        <>
          <h3>Recommended settings</h3>
          <DataTable
            label="Recommended settings"
            rows={d.recommended}
            rowKey={(x) => x.name}
            columns={[
              { key: "name", label: "Setting", render: (x) => <code>{x.name}</code> },
              { key: "value", label: "Now", render: (x) => x.value ?? "(not set)" },
              { key: "rec", label: "Recommended", render: (x) => x.recommended },
              { key: "ok", label: "State", render: (x) => (x.ok ? "ok" : <span className="warn-text">missing</span>) },
              { key: "fix", label: "Fix", render: (x) => (x.ok ? "" : <code>{x.fix}</code>) },
            ]}
          />
        </>
      )}
    </Panel>
  );
}
