package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline-bridge/infra/dev/testenv"
)

// The status page, in a real headless Chromium against a running bridge: it shows each unit's events as the
// outbox counts them, every table's capture lag, the quarantined row and the dependencies, updates itself
// when new rows flow, and links to a work order's journey.
func TestStatusPageShowsTheFlowAndUpdatesItselfInChromium(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.cfg.HTTPAddr = closedPort(t)
	e.exec(t, treeSQL)
	for i := range 3 {
		e.exec(t, fmt.Sprintf(`INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id)
			VALUES ('R%d', now() - interval '1 hour', '420106-2026-00000%d', 1, 'ORG-420106')`, i, i))
	}
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R9', now() - interval '1 hour', '420102-2026-000009', 1, 'ORG-420102-S01')`)
	e.exec(t, `INSERT INTO registration (id, update_time, kind, division_code) VALUES ('R-BAD', now() - interval '1 hour', 1, '42A106')`)
	store := storeQuerier(t, e)
	e.runInBackground(t)
	base := "http://" + e.cfg.HTTPAddr
	published := func(unit string) int {
		return store.countOrZero(t, `SELECT count(*) FROM bridge.outbox
			WHERE published_at IS NOT NULL AND table_name = 'registration' AND unit_code = '`+unit+`'`)
	}
	testenv.WaitFor(t, "the registrations published and the bad row quarantined", 2*time.Minute, func() bool {
		return published("420106") == 3 && published("420102") == 1 &&
			store.countOrZero(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`) == 0 &&
			store.countOrZero(t, `SELECT count(*) FROM bridge.quarantine WHERE row_id = 'R-BAD'`) == 1 &&
			store.countOrZero(t, `SELECT count(*) FROM bridge.distribution_log WHERE unit_code IN ('420106', '420102')`) >= 2
	})

	ctx := chromium(t)
	cell := func(selector string) string {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("read %s: %v", selector, err)
		}
		return strings.TrimSpace(text)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/status"), chromedp.WaitVisible(chromedp.CSS("#flow"))); err != nil {
		t.Fatal(err)
	}
	for unit, n := range store.outboxPerUnit(t) {
		if got := cell(`#flow tr[data-unit="` + unit + `"] td:nth-child(4)`); got != strconv.Itoa(n) {
			t.Errorf("the page shows %s events for unit %s in the last day; the outbox published %d", got, unit, n)
		}
	}
	if got := cell(`#flow tr[data-unit="420117"] td:nth-child(4)`); got != "0" {
		t.Errorf("unit 420117, which was sent nothing, shows %q events; want 0", got)
	}
	if got := cell(`#quarantine .big`); got != "1" {
		t.Errorf("the page shows %s quarantined rows, want 1", got)
	}
	for _, dep := range []string{"store", "upstream", "broker"} {
		if got := cell(`[data-dependency="` + dep + `"] .badge`); got != "ready" {
			t.Errorf("dependency %s shows %q, want ready", dep, got)
		}
	}
	tables, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#capture tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	if tables != 12 {
		t.Errorf("the capture table lists %d tables, want the twelve", tables)
	}

	// New rows flow: the open page shows them on its own, without being reloaded.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = "yes"`)); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R4', now(), '420106-2026-000004', 1, 'ORG-420106')`)
	testenv.WaitFor(t, "the new registration published", time.Minute, func() bool { return published("420106") == 4 })
	want := strconv.Itoa(store.outboxPerUnit(t)["420106"])
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.Poll[chromedp.Void](`document.querySelector('#flow tr[data-unit="420106"] td:nth-child(4)').textContent.trim() === "`+want+`" && window.notReloaded === "yes"`)); err != nil {
		t.Fatalf("the open page did not come to show %s events for 420106 by itself: %v (it shows %s)", want, err, cell(`#flow tr[data-unit="420106"] td:nth-child(4)`))
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), "status.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the status page: %s (%d bytes; kept with go test -artifacts)", path, len(shot))

	// The journey of a work order, from the page's own form.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("reg_no"), "420106-2026-000004"),
		chromedp.Submit(chromedp.ID("reg_no")),
		chromedp.WaitVisible(chromedp.ID("journey"))); err != nil {
		t.Fatal(err)
	}
	hops, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#journey tbody tr")).map(r => r.dataset.hop)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(hops, " ") != "captured decided stored published" {
		t.Errorf("the journey of 420106-2026-000004 shows hops %v, want captured decided stored published", hops)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/status/audit?reg_no=420199-2026-000000"), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatal(err)
	}
	if got := cell("#problem"); !strings.Contains(got, "has never seen registration number 420199-2026-000000") {
		t.Errorf("an unknown work order's journey says %q", got)
	}
}

// chromium starts a headless Chromium of its own for the test (a fresh profile, no sandbox: tests run as root).
func chromium(t *testing.T) context.Context {
	t.Helper()
	if err := testenv.EnsureTools(os.Stderr, testenv.Chromium); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(testenv.Chromium.Command), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(430, 1400)) // a phone's width
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
