// The agent's JSON API as the UI reads it. The shapes are generated from the agent's own
// response types (Rust → docs/openapi.json → src/api-types.ts by `npm run generate-types`);
// `scripts/ui-check.sh` fails when the generated file is not what the committed document
// gives, and `tsc` fails when a panel reads a field the agent does not serve.

import type { components } from "./api-types";

/** Every response and value type the agent's OpenAPI document names. */
export type Schemas = components["schemas"];

export type SqlUsed = Schemas["SqlUsed"];
/** What every loop endpoint's body starts with (`cluster`, `db`, `collected_at`, `stale`, …). */
export type Envelope = Schemas["Envelope"];
export type LoopHealth = Schemas["LoopReport"];
export type DatabaseStatus = Schemas["DatabaseHealth"];
export type Health = Schemas["HealthReport"];
/** A table or index left out of a snapshot this run, and why (the lock and its pid). */
export type SkippedRelation = Schemas["SkippedRelation"];
export type Alert = Schemas["Alert"];
export type ResolvedAlert = Schemas["ResolvedAlert"];
export type Advisory = Schemas["Advisory"];

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
