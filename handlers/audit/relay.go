package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/tidwall/gjson"

	"hotline-bridge/events"
	"hotline-bridge/handlers/pace"
)

// Bounds of one relay round: outbox rows claimed at once, and hops per audit record (a sort batch of a thousand
// Wuhan rows records some four thousand hops; a record stays far below the broker's 1 MB limit).
const (
	relayRows     = 200
	hopsPerRecord = 500
)

// Relay moves hops from the audit outbox to the audit topic. A hop is named by its outbox row and its place in
// it when relayed, so a record sent again after a failure carries the same hop ids and dedupes in the trail.
type Relay struct {
	outbox    Outbox
	publisher message.Publisher
	topic     string
	log       *slog.Logger
}

// NewRelay relays onto topic.
func NewRelay(outbox Outbox, publisher message.Publisher, topic string, log *slog.Logger) *Relay {
	return &Relay{outbox: outbox, publisher: publisher, topic: topic, log: log}
}

// Relay moves one round and returns how many outbox rows it cleared; 0 when nothing was waiting.
func (r *Relay) Relay(ctx context.Context) (int, error) {
	relayed := 0
	err := r.outbox.Apply(ctx, func(tx OutboxTx) error {
		pending, err := tx.Pending(ctx, relayRows)
		if err != nil || len(pending) == 0 {
			return err
		}
		if err := r.publisher.Publish(r.topic, records(pending)...); err != nil {
			return fmt.Errorf("publish %d audit outbox rows to %s: %w", len(pending), r.topic, err)
		}
		seqs := make([]int64, len(pending))
		for i, p := range pending {
			seqs[i] = p.Seq
		}
		relayed = len(pending)
		return tx.Done(ctx, seqs)
	})
	return relayed, err
}

// records names the hops and cuts them into audit records. The hops pass through as the outbox holds them,
// each with its id put in front: decoding and encoding them again cost a tenth of the bridge's CPU in a catch-up.
// The outbox's writers leave hop_id out; an element that is not an object is passed on as it is, for the audit
// subscriber to set aside as unreadable (see hopsOf for a row that is not JSON).
func records(pending []Pending) []*message.Message {
	var msgs []*message.Message
	for _, p := range pending {
		envelope := "a" + strconv.FormatInt(p.Seq, 10)
		hops := hopsOf(p.Hops)
		for start := 0; start < len(hops); start += hopsPerRecord {
			msg := message.NewMessage(watermill.NewUUID(), record(envelope, start, hops[start:min(start+hopsPerRecord, len(hops))]))
			msg.Metadata.Set(events.MetaKey, envelope)
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// hopsOf reads an outbox row's hops. A row that is not a JSON array (the column is text: a value that is not
// JSON at all, or a lone object, string or null) goes on as one string element, for the audit subscriber to set
// aside as unreadable, rather than vanish from the outbox unrelayed.
func hopsOf(raw []byte) []gjson.Result {
	if gjson.ValidBytes(raw) {
		if doc := gjson.ParseBytes(raw); doc.IsArray() {
			return doc.Array()
		}
	}
	quoted, _ := json.Marshal(string(raw)) // a string cannot fail to encode
	return []gjson.Result{gjson.ParseBytes(quoted)}
}

// record renders hops as one audit record (events.HopEnvelope); the first of them is the envelope's hop number
// first.
func record(envelope string, first int, hops []gjson.Result) []byte {
	size := len(`{"hops":[]}`)
	for _, h := range hops {
		size += len(h.Raw) + len(envelope) + 24
	}
	b := append(make([]byte, 0, size), `{"hops":[`...)
	for i, h := range hops {
		if i > 0 {
			b = append(b, ',')
		}
		b = stamped(b, events.HopID(envelope, first+i), h)
	}
	return append(b, "]}"...)
}

// stamped appends the hop object with its id as its first member.
func stamped(b []byte, id string, h gjson.Result) []byte {
	rest := strings.TrimLeft(h.Raw, " \t\r\n")
	if !h.IsObject() || !strings.HasPrefix(rest, "{") {
		return append(b, h.Raw...)
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	b = append(b, `{"hop_id":`...)
	b = strconv.AppendQuote(b, id) // an envelope name and a number: the same in JSON
	if !strings.HasPrefix(rest, "}") {
		b = append(b, ',')
	}
	return append(b, rest...)
}

// Run relays until ctx ends: at once again after a full round, else after interval. Failures (the broker or the
// database down) are retried with backoff and logged once each, here.
func (r *Relay) Run(ctx context.Context, interval time.Duration) {
	backoff := pace.Backoff(200*time.Millisecond, 5*time.Second)
	failures := 0
	for ctx.Err() == nil {
		n, err := r.Relay(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait := backoff.NextBackOff()
			r.log.Warn("relaying audit hops failed; retrying", "attempt", failures, "retry_in", wait, "error", err)
			pace.Sleep(ctx, wait)
			continue
		case failures > 0:
			r.log.Info("relaying audit hops recovered", "failed_attempts", failures)
		}
		failures = 0
		backoff.Reset()
		if n < relayRows {
			pace.Sleep(ctx, interval)
		}
	}
}

// Drain relays until nothing is waiting (for --until-idle); it returns an error only when ctx ends first.
func (r *Relay) Drain(ctx context.Context) error {
	backoff := pace.Backoff(200*time.Millisecond, 5*time.Second)
	for {
		n, err := r.Relay(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			r.log.Warn("relaying audit hops failed; retrying", "error", err)
			pace.Sleep(ctx, backoff.NextBackOff())
		case n == 0:
			return nil
		}
	}
}
