package capture_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline-bridge/handlers/capture"
)

// memPageLog is a download log in memory; fail makes the next writes fail.
type memPageLog struct {
	pages []capture.Page
	fail  int
}

func (l *memPageLog) Record(_ context.Context, pages []capture.Page) error {
	if l.fail > 0 {
		l.fail--
		return errors.New("insert into bridge.download_log at store.example:5432: connection refused")
	}
	l.pages = append(l.pages, pages...)
	return nil
}

// summary renders a page as "read/published from→to error".
func summary(p capture.Page) string {
	s := fmt.Sprintf("%d/%d %s→%s", p.Read, p.Published, p.From.ID, p.To.ID)
	if p.Error != "" {
		s += " failed"
	}
	return s
}

func summaries(pages []capture.Page) []string {
	out := make([]string, len(pages))
	for i, p := range pages {
		out[i] = summary(p)
	}
	return out
}

// The download log gets a row per page that brought something or failed: empty polls and re-reads of published
// but unsettled rows write nothing, and the watermarks chain from page to page.
func TestDownloadLogRecordsPagesThatBroughtSomethingOrFailed(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	for i := range 5 {
		src.put(fmt.Sprintf("R%d", i), now.Add(-time.Hour+time.Duration(i)*time.Second), true)
	}
	src.put("young", now.Add(-time.Minute), true) // within max_commit_delay: published, not settled
	log := &memPageLog{}
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	pub := &memPublisher{}
	p := capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: 3, MaxCommitDelay: 5 * time.Minute, PageLog: log}, src, wm, pub)
	drain(t, p)
	drain(t, p) // re-reads "young" each round: nothing new
	src.fail = errors.New("upstream.example:5432: connection refused")
	if _, err := p.Poll(context.Background()); err == nil {
		t.Fatal("the poll against the failing upstream succeeded")
	}
	want := []string{"3/3 →R2", "3/3 R2→R4", "0/0 R4→R4 failed"}
	if got := summaries(log.pages); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("download log %v, want %v", got, want)
	}
	last := log.pages[2]
	if last.Table != "registration" || !strings.Contains(last.Error, "upstream.example:5432") || last.Started.IsZero() {
		t.Fatalf("failed page recorded as %+v", last)
	}
}

// A download log that cannot be written does not stop capture: the round reports it, and its entries are written
// with the next page's once the log is back.
func TestDownloadLogFailureKeepsCapturingAndWritesLater(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	src.put("a", now.Add(-time.Hour), true)
	log := &memPageLog{fail: 1}
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	pub := &memPublisher{}
	p := capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: 10, MaxCommitDelay: 5 * time.Minute, PageLog: log}, src, wm, pub)
	round, err := p.Poll(context.Background())
	if err != nil || round.Published != 1 || wm.pos["registration"].ID != "a" {
		t.Fatalf("round %+v, %v: the failing log must not stop capture", round, err)
	}
	if round.LogErr == nil || !strings.Contains(round.LogErr.Error(), "store.example:5432") || len(log.pages) != 0 {
		t.Fatalf("round.LogErr = %v, log %v; want the write failure reported and nothing written", round.LogErr, log.pages)
	}
	src.put("b", now.Add(-30*time.Minute), true)
	if round, err = p.Poll(context.Background()); err != nil || round.LogErr != nil {
		t.Fatalf("second round: %v, log error %v", err, round.LogErr)
	}
	if got := strings.Join(summaries(log.pages), ", "); got != "1/1 →a, 1/1 a→b" {
		t.Fatalf("download log %s, want both pages in order", got)
	}
}

// Every page is reported as soon as it is out, not with its round: a catch-up's one round lasts until the table
// is caught up, and the progress display and the rows-captured metric count by page.
func TestEveryPageIsObservedAsItGoesOut(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	for i := range 5 {
		src.put(fmt.Sprintf("R%d", i), now.Add(-time.Hour+time.Duration(i)*time.Second), true)
	}
	wm := &memWatermarks{pos: map[string]capture.Position{}}
	pub := &memPublisher{}
	var seen []string
	observe := func(p capture.Page) {
		seen = append(seen, fmt.Sprintf("%s %s on the broker %d", p.Table, summary(p), len(pub.ids)))
	}
	p := capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: 2, MaxCommitDelay: 5 * time.Minute, OnPage: observe}, src, wm, pub)
	round, err := p.Poll(context.Background())
	if err != nil || round.Published != 5 {
		t.Fatalf("the round published %d rows (error %v), want 5", round.Published, err)
	}
	want := []string{"registration 2/2 →R1 on the broker 2", "registration 2/2 R1→R3 on the broker 4", "registration 1/1 R3→R4 on the broker 5"}
	if strings.Join(seen, ", ") != strings.Join(want, ", ") {
		t.Fatalf("pages observed %q, want %q", seen, want)
	}
}

// savelessWatermarks loads like memWatermarks and refuses every save.
type savelessWatermarks struct{ *memWatermarks }

func (savelessWatermarks) Save(context.Context, string, capture.Position) error {
	return errors.New("update bridge.capture_watermark at store.example:5432: connection refused")
}

// An observer sees a page as the download log records it: a page whose watermark could not be saved is observed
// with its failure and its duration, so a metric or a progress line can tell it from a good one.
func TestAPageIsObservedAsTheDownloadLogRecordsIt(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	src := &memSource{now: now}
	src.put("R0", now.Add(-time.Hour), true)
	log := &memPageLog{}
	var seen []capture.Page
	wm := savelessWatermarks{&memWatermarks{pos: map[string]capture.Position{}}}
	cfg := capture.Config{TopicPrefix: "t", BatchSize: 2, MaxCommitDelay: 5 * time.Minute, PageLog: log,
		OnPage: func(p capture.Page) { seen = append(seen, p) }}
	p := capture.NewPoller(kind, cfg, src, wm, &memPublisher{})
	if _, err := p.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "store.example:5432") {
		t.Fatalf("poll with a failing watermark save: %v, want that failure", err)
	}
	if len(seen) != 1 || len(log.pages) != 1 {
		t.Fatalf("observed %d pages and logged %d, want the one page each", len(seen), len(log.pages))
	}
	got := seen[0]
	if got != log.pages[0] {
		t.Fatalf("observed %+v, logged %+v: want the same page", got, log.pages[0])
	}
	if got.Table != "registration" || got.Read != 1 || !strings.Contains(got.Error, "store.example:5432") || got.Duration <= 0 {
		t.Fatalf("observed %+v, want registration's page of 1 row with the save's failure and its duration", got)
	}
}
