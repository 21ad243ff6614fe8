// Test helpers: a fetch that answers from a table of paths (the agent's JSON shapes, as the
// real API returns them), and rendering inside the refresh clock.
import { render } from "@testing-library/react";
import { RefreshProvider } from "./refresh";

export type Routes = Record<string, { status?: number; body: unknown }>;

export function stubFetch(routes: Routes) {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL) => {
    const path = String(input);
    calls.push(path);
    const route = routes[path];
    if (!route) return new Response(JSON.stringify({ error: `no such endpoint: ${path}` }), { status: 404 });
    return new Response(JSON.stringify(route.body), { status: route.status ?? 200, headers: { "content-type": "application/json" } });
  });
  return calls;
}

export function renderLive(ui: React.ReactElement) {
  return render(<RefreshProvider intervalMs={60_000}>{ui}</RefreshProvider>);
}
