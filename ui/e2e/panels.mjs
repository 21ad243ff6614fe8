// End-to-end: Debian's Chromium, driven by playwright-core, against a real pgmon monitoring a
// real PostgreSQL seeded by tests/ui.rs. Phase "panels": every panel renders the seeded data,
// its SQL section expands to real SQL, sorting and deep links work, a narrow screen does not
// scroll sideways, and the console stays clean; a screenshot of each panel is saved. Phase
// "degraded": with the database stopped, the degraded banner names the unreachable database on
// every page, the health panel says since when, and the overview marks its workload figures stale.
//
// PGMON_URL (the agent), PGMON_E2E_PHASE (panels | degraded), PGMON_E2E_SCREENSHOTS (a dir),
// CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.PGMON_URL ?? "http://127.0.0.1:8181";
const phase = process.env.PGMON_E2E_PHASE ?? "panels";
const shots = process.env.PGMON_E2E_SCREENSHOTS ?? "e2e-screenshots";
mkdirSync(shots, { recursive: true });

// What the seeded database must put on each panel (tests/ui.rs seeds exactly these).
const PANELS = {
  overview: ["Connections", "/ 60", "idle in transaction", "UPDATE accounts SET balance = 2", "Blocking chains", "blocking_locks", "Deadlocks", "since stats reset", "I/O by backend type"],
  autovacuum: ["public.churn", "40.0 %", "Workers by phase"],
  "top-queries": ["pgbench_accounts", "statements tracked"],
  "stale-stats": ["public.stale_t", "ANALYZE public.stale_t;"],
  storage: ["public.pgbench_accounts", "public.churn_pad_idx", "DROP INDEX CONCURRENTLY public.churn_pad_idx;", "public.accounts_pkey"],
  bloat: ["public.pgbench_accounts", "Free %"],
  partitions: ["public.events", "runs out soon", "daily", "CREATE TABLE public.events_p"],
  replication: ["primary", "walreceiver", "streaming", "Replication slots", "ui_abandoned", "inactive", "pg_drop_replication_slot('ui_abandoned')", "WAL archiving", "failing", "archive_command fails", "WAL directory", "% of max_wal_size"],
  settings: ["Changes seen", "work_mem", "4MB", "64MB", "Waiting for a restart", "shared_buffers", "Recommended settings", "track_io_timing"],
  wraparound: ["app", "% of limit", "Oldest relations"],
  alerts: ["blocking_locks", "firing", "Recently resolved"],
  health: ["hot_path", "workload", "storage", "hourly", "reachable", "Pool busy", "Advisories", "DB time", "Database time", "% of one core"],
};

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

/** A fresh page that records console errors and uncaught exceptions. */
async function newPage(context, allowed = () => false) {
  const page = await context.newPage();
  page.errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" && !allowed(msg.text())) page.errors.push(msg.text());
  });
  page.on("pageerror", (err) => page.errors.push(`uncaught: ${err.message}`));
  return page;
}

async function panelsPhase() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await newPage(context);
  for (const [id, expected] of Object.entries(PANELS)) {
    await page.goto(`${base}/#/${id}`);
    const panel = page.locator(`[data-panel="${id}"]`);
    try {
      await panel.and(page.locator('[data-state="ready"]')).waitFor({ timeout: 15000 });
    } catch {
      check(false, `${id}: panel ready (state ${await panel.getAttribute("data-state").catch(() => "missing")})`);
      continue;
    }
    for (const text of expected) {
      const found = await panel
        .getByText(text, { exact: false })
        .first()
        .waitFor({ timeout: 15000 })
        .then(() => true, () => false);
      check(found, `${id}: shows "${text}"`);
    }
    const errorBoxes = await panel.locator(".error").count();
    check(errorBoxes === 0, `${id}: no error shown (${errorBoxes})`);
    const title = await page.title();
    check(title.includes("test-cluster"), `${id}: cluster label in the title ("${title}")`);
    const current = await page.locator('nav.tabs a[aria-current="page"]').getAttribute("href");
    check(current === `#/${id}`, `${id}: deep link selects its tab (${current})`);

    await page.screenshot({ path: join(shots, `${id}.png`), fullPage: true });
    const sql = panel.locator("details.sql-used");
    check(!(await sql.evaluate((d) => d.open)), `${id}: SQL section starts collapsed`);
    await sql.locator("summary").click();
    const firstSql = await sql.locator("pre").first().innerText({ timeout: 5000 }).catch(() => "");
    check(/\bSELECT\b/i.test(firstSql), `${id}: SQL section expands to real SQL`);
    if (id === "partitions") await sql.screenshot({ path: join(shots, "sql-used.png") });
  }

  // Sorting: the autovacuum table sorts by %dead when its header is clicked.
  await page.goto(`${base}/#/autovacuum`);
  const header = page.locator('[data-panel="autovacuum"] th', { hasText: "% dead" });
  await header.locator("button").click();
  check((await header.getAttribute("aria-sort")) === "descending", "autovacuum: clicking a header sorts by it");
  await header.locator("button").click();
  check((await header.getAttribute("aria-sort")) === "ascending", "autovacuum: clicking again reverses the sort");

  // A path works as a deep link too (the agent serves the page on any path).
  await page.goto(`${base}/partitions`);
  const byPath = await page.locator('[data-panel="partitions"][data-state="ready"]').waitFor({ timeout: 15000 }).then(() => true, () => false);
  check(byPath, "/partitions opens the partitions panel");

  // Charts are drawn by uPlot from the agent's history.
  await page.goto(`${base}/#/overview`);
  await page.locator(".chart canvas").first().waitFor({ timeout: 15000 }).catch(() => {});
  check((await page.locator(".chart canvas").count()) === 4, "overview: four charts drawn");

  // Pause stops the clock; the "last updated" line says so.
  await page.getByRole("button", { name: "Pause" }).click();
  check((await page.getByTestId("last-updated").innerText()).includes("paused"), "pause toggle shows paused");
  await page.getByRole("button", { name: "Resume" }).click();

  check(page.errors.length === 0, `no console errors (${page.errors.join(" | ")})`);
  await context.close();

  // A narrow phone-sized screen: usable, no sideways scroll of the page itself.
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const phone = await newPage(narrow);
  for (const id of Object.keys(PANELS)) {
    await phone.goto(`${base}/#/${id}`);
    await phone.locator(`[data-panel="${id}"][data-state="ready"]`).waitFor({ timeout: 15000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${id} at 390 px: no horizontal page scroll (overflow ${overflow}px)`);
    await phone.screenshot({ path: join(shots, `${id}-narrow.png`), fullPage: false });
  }
  check(phone.errors.length === 0, `narrow: no console errors (${phone.errors.join(" | ")})`);
  await narrow.close();
}

async function degradedPhase() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  // The browser logs each 503 as a failed resource load: expected while degraded.
  const page = await newPage(context, (text) => text.includes("status of 503"));
  for (const id of ["overview", "storage", "health"]) {
    await page.goto(`${base}/#/${id}`);
    const banner = page.getByTestId("degraded");
    const shown = await banner.waitFor({ timeout: 20000 }).then(() => true, () => false);
    check(shown, `${id}: degraded banner shown`);
    if (shown) {
      const text = await banner.innerText();
      check(text.includes("database unreachable"), `${id}: banner names the unreachable database ("${text.slice(0, 120)}")`);
    }
  }
  await page.goto(`${base}/#/health`);
  await page.locator('[data-panel="health"][data-state="ready"]').waitFor({ timeout: 15000 });
  const status = await page.locator('[data-panel="health"] .facts .badge').first().innerText();
  check(status.toLowerCase() === "degraded", `health: status badge says degraded (${status})`);
  const database = await page.getByTestId("database-status").innerText();
  check(database.startsWith("unreachable") && database.includes(" since "), `health: database row says unreachable since when ("${database.slice(0, 120)}")`);
  await page.goto(`${base}/#/overview`);
  await page.getByTestId("degraded").waitFor({ timeout: 20000 }).catch(() => {});
  const workloadStale = page.getByTestId("workload-stale");
  const marked = await workloadStale.waitFor({ timeout: 20000 }).then(() => true, () => false);
  const staleText = marked ? await workloadStale.innerText() : "";
  check(staleText.startsWith("Workload figures stale."), `overview: workload figures marked stale ("${staleText.slice(0, 120)}")`);
  const staleCards = await page.locator('[data-panel="overview"] .stat[data-stale="true"]').count();
  check(staleCards === 6, `overview: the six workload figures carry the stale mark (${staleCards})`);
  await page.screenshot({ path: join(shots, "degraded.png"), fullPage: true });
  check(page.errors.length === 0, `degraded: no console errors besides 503s (${page.errors.join(" | ")})`);
  await context.close();
}

try {
  if (phase === "panels") await panelsPhase();
  else if (phase === "degraded") await degradedPhase();
  else throw new Error(`unknown PGMON_E2E_PHASE ${phase}`);
} finally {
  await browser.close();
}
if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`phase ${phase}: all checks passed; screenshots in ${shots}`);
