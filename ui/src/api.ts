// The agent's JSON API as the UI reads it. Every loop endpoint carries `cluster`, `db`,
// `collected_at` and `sql`; a loop with no snapshot yet answers 503 with `error`.

export interface SqlUsed {
  collector: string;
  sql: string;
}

export interface Envelope {
  cluster: string;
  db: string;
  collected_at?: string | null;
  /** Seconds since `collected_at`. */
  age_seconds?: number | null;
  /** Why this snapshot is not current (database unreachable, last run failed, late), or null. */
  stale?: string | null;
  database_reachable?: boolean | null;
  sql?: SqlUsed[];
  error?: string | null;
  errors?: Record<string, string>;
}

export interface LoopHealth {
  name: string;
  interval: string;
  budget: string;
  last_run_at: string | null;
  last_success_at: string | null;
  last_duration_seconds: number | null;
  last_run_ok: boolean | null;
  last_error: string | null;
  section_errors: Record<string, string>;
  consecutive_failures: number;
  runs_total: number;
  errors_total: number;
  restarts: number;
  skipped_ticks: number;
  budget_overruns: number;
  /** Runs that got no connection because the loop's own was still held by its previous run. */
  pool_busy?: number;
  next_run_due: string | null;
  status?: "ok" | "starting" | "degraded";
  reason?: string | null;
}

export interface DatabaseStatus {
  reachable: boolean;
  /** Why it is unreachable, while it is. */
  error: string | null;
  /** Since when it has been in its current state (RFC 3339). */
  since?: string | null;
  /** Consecutive runs (of one loop) that found it unreachable. */
  failed_runs?: number;
  server_version: string | null;
}

export interface Health {
  status: "ok" | "starting" | "degraded";
  cluster: string;
  db: string;
  database: DatabaseStatus;
  /** `database: …`, `<loop>: …`, `read_only: …`, `privileges: …`. */
  degraded: string[];
  advisories?: Advisory[];
  loops: Record<string, LoopHealth>;
  uptime_seconds: number;
}

/** A table or index left out of a snapshot this run, and why (the lock and its pid). */
export interface SkippedRelation {
  relation: string;
  reason: string;
}

export interface Alert {
  kind: string;
  severity: "warn" | "crit";
  phase: "pending" | "firing";
  message: string;
  since: string;
  firing_since?: string | null;
  last_seen?: string;
  dedupe_key: string;
}

export interface ResolvedAlert {
  kind: string;
  severity: "warn" | "crit";
  message: string;
  started: string;
  ended: string;
  dedupe_key: string;
}

export interface Advisory {
  code: string;
  message: string;
  fix: string;
}

/** A failed request: the HTTP status (0 when the agent did not answer) and why. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * GETs `path` and parses its JSON. A non-2xx answer throws `ApiError` with the agent's own
 * `error` text when it sent one. `acceptStatus` lists statuses whose body is still data
 * (`/api/v1/health` answers 503 with the full health report).
 */
export async function getJson<T>(path: string, signal?: AbortSignal, acceptStatus: number[] = []): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { signal, headers: { Accept: "application/json" } });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(`the agent did not answer ${path}: ${(e as Error).message}`, 0);
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const agentError =
    body && typeof body === "object" && "error" in body && typeof (body as { error: unknown }).error === "string"
      ? (body as { error: string }).error
      : null;
  if (response.ok || acceptStatus.includes(response.status)) {
    if (body === null) throw new ApiError(`${path} answered ${response.status} without JSON`, response.status);
    // An accepted non-2xx status carries data (the health report), unless the agent could not
    // build it and answered with only its `error` (e.g. 503 "state unavailable").
    if (!response.ok && agentError !== null) throw new ApiError(agentError, response.status);
    return body as T;
  }
  throw new ApiError(agentError ?? `HTTP ${response.status}`, response.status);
}
