package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"hotline-bridge/events"
	"hotline-bridge/handlers/district"
	"hotline-bridge/infra/kafka"
)

// TailOptions says what bridge tail reads and writes.
type TailOptions struct {
	Unit          string
	FromBeginning bool
	Follow        bool   // keep reading new events; otherwise stop at the end as of the start
	StatePath     string // write the materialised unit state as JSON here when done
	Limit         int    // print at most this many events (0 = all); state still folds every one
	// Verify checks every event's signature against the published keys (KeysFile, else the keys topic), reports
	// each that fails and leaves it out of the state; Tail then ends with ErrUnverified.
	Verify   bool
	KeysFile string
}

// Tail is the reference district consumer: it prints a unit topic's events (never their payloads, which hold
// personal data) and folds them into the unit's state by the contract's rules.
func Tail(ctx context.Context, cfg Config, out io.Writer, opts TailOptions) (district.State, error) {
	topic := events.UnitTopic(cfg.TopicPrefix, opts.Unit)
	state, printed := district.State{}, 0
	var verify *verifier
	if opts.Verify {
		var err error
		if verify, err = newVerifier(ctx, cfg, out, opts.KeysFile); err != nil {
			return state, err
		}
	}
	err := kafka.ReadTopicAs(ctx, cfg.kafka(), topic, opts.FromBeginning, opts.Follow, func(r kafka.Record) error {
		if verify != nil {
			if ok, err := verify.check(ctx, r); !ok || err != nil {
				return err
			}
		}
		if opts.Limit == 0 || printed < opts.Limit {
			fmt.Fprintf(out, "%-8s %-26s unit=%s key=%-14s row=%-14s time=%s id=%s\n", fmt.Sprintf("%d@%d", r.Offset, r.Partition),
				r.Headers[events.HeaderType], opts.Unit, r.Key, r.Headers[events.HeaderSubject], r.Headers[events.HeaderTime], r.Headers[events.HeaderID])
			printed++
		}
		return state.Apply(r.Headers[events.HeaderType], r.Value)
	})
	if err != nil {
		return state, err
	}
	if opts.StatePath != "" {
		if err := writeJSON(opts.StatePath, state); err != nil {
			return state, err
		}
	}
	if verify != nil {
		return state, verify.result(topic)
	}
	return state, nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600) // the state holds complainants' personal data
}
