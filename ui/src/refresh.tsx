// One clock for the whole page: every `useApi` refetches when the tick advances, so all panels
// refresh together, and the header's "last updated" is the latest answer any of them got.
import { createContext, useCallback, useContext, useEffect, useRef, useState } from "react";
import { ApiError, getJson } from "./api";

export const REFRESH_MS = 10_000;

interface RefreshState {
  tick: number;
  paused: boolean;
  lastUpdated: Date | null;
  setPaused: (paused: boolean) => void;
  refreshNow: () => void;
  reportUpdated: (at: Date) => void;
}

const RefreshContext = createContext<RefreshState | null>(null);

export function RefreshProvider({ children, intervalMs = REFRESH_MS }: { children: React.ReactNode; intervalMs?: number }) {
  const [tick, setTick] = useState(0);
  const [paused, setPaused] = useState(false);
  const [lastUpdated, setLastUpdated] = useState<Date | null>(null);
  useEffect(() => {
    if (paused) return;
    const timer = window.setInterval(() => setTick((t) => t + 1), intervalMs);
    return () => window.clearInterval(timer);
  }, [paused, intervalMs]);
  const refreshNow = useCallback(() => setTick((t) => t + 1), []);
  const reportUpdated = useCallback((at: Date) => setLastUpdated(at), []);
  return (
    <RefreshContext.Provider value={{ tick, paused, lastUpdated, setPaused, refreshNow, reportUpdated }}>
      {children}
    </RefreshContext.Provider>
  );
}

export function useRefresh(): RefreshState {
  const state = useContext(RefreshContext);
  if (!state) throw new Error("useRefresh outside RefreshProvider");
  return state;
}

export interface ApiState<T> {
  data: T | null;
  /** Why the latest request failed; `data` then still holds the previous answer, if any. */
  error: string | null;
  status: number | null;
  loading: boolean;
  fetchedAt: Date | null;
}

/** The JSON at `path`, refetched on every tick. */
export function useApi<T>(path: string, acceptStatus: number[] = []): ApiState<T> {
  const { tick, reportUpdated } = useRefresh();
  const [state, setState] = useState<ApiState<T>>({ data: null, error: null, status: null, loading: true, fetchedAt: null });
  const accept = useRef(acceptStatus);
  useEffect(() => {
    const controller = new AbortController();
    getJson<T>(path, controller.signal, accept.current)
      .then((data) => {
        const at = new Date();
        setState({ data, error: null, status: 200, loading: false, fetchedAt: at });
        reportUpdated(at);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        const status = e instanceof ApiError ? e.status : 0;
        const message = e instanceof Error ? e.message : String(e);
        setState((prev) => ({ ...prev, error: message, status, loading: false }));
      });
    return () => controller.abort();
  }, [path, tick, reportUpdated]);
  return state;
}
