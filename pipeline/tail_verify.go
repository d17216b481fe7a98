package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
	"hotline-bridge/infra/kafka"
)

// ErrUnverified says bridge tail --verify met events that are unsigned, tampered with or signed by a key that
// is not published.
var ErrUnverified = errors.New("events failed verification")

// verifier checks every event bridge tail reads against the published keys and reports each one that fails, by
// where it is and its ce_id: never its content, which holds personal data.
type verifier struct {
	cfg      Config
	out      io.Writer
	fromFile bool
	keys     *signing.KeySet
	reread   map[string]bool // unknown key ids the keys topic was read again for
	checked  int
	failed   map[string]int // by reason
}

// newVerifier reads the published keys: the public keys file when one is given, else the keys topic.
func newVerifier(ctx context.Context, cfg Config, out io.Writer, keysFile string) (*verifier, error) {
	v := &verifier{cfg: cfg, out: out, fromFile: keysFile != "", reread: map[string]bool{}, failed: map[string]int{}}
	var err error
	if v.fromFile {
		v.keys, err = readKeysFile(keysFile)
	} else {
		v.keys, err = kafka.ReadKeys(ctx, cfg.kafka(), events.KeysTopic(cfg.TopicPrefix))
	}
	return v, err
}

func readKeysFile(path string) (*signing.KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--keys-file: %w", err)
	}
	set, err := signing.ParseKeySet(data)
	if err != nil {
		return nil, fmt.Errorf("--keys-file %s: %w", path, err)
	}
	return set, nil
}

// check verifies one record; it reports false, with a line on out, for a record that must not be applied.
func (v *verifier) check(ctx context.Context, r kafka.Record) (bool, error) {
	v.checked++
	record := signing.Record{Headers: r.Headers, Key: []byte(r.Key), Value: r.Value}
	err := v.keys.Verify(record)
	if errors.Is(err, signing.ErrUnknownKey) && !v.fromFile && !v.reread[r.Headers[events.HeaderSignatureKeyID]] {
		// A key rotated in since the keys were read is published before anything is signed with it.
		v.reread[r.Headers[events.HeaderSignatureKeyID]] = true
		if v.keys, err = kafka.ReadKeys(ctx, v.cfg.kafka(), events.KeysTopic(v.cfg.TopicPrefix)); err != nil {
			return false, err
		}
		err = v.keys.Verify(record)
	}
	if err == nil {
		return true, nil
	}
	reason := failureReason(err)
	v.failed[reason]++
	fmt.Fprintf(v.out, "NOT VERIFIED %s topic=%s partition=%d offset=%d id=%s: %v\n", reason, r.Topic, r.Partition, r.Offset,
		r.Headers[events.HeaderID], err)
	return false, nil
}

func failureReason(err error) string {
	switch {
	case errors.Is(err, signing.ErrUnsigned):
		return "unsigned"
	case errors.Is(err, signing.ErrUnknownKey):
		return "unknown-key"
	default:
		return "tampered"
	}
}

// result prints what was checked and is ErrUnverified when anything failed.
func (v *verifier) result(topic string) error {
	bad := v.failed["unsigned"] + v.failed["tampered"] + v.failed["unknown-key"]
	fmt.Fprintf(v.out, "verified %d events on %s against %d published keys: %d good, %d tampered, %d unsigned, %d signed by an unknown key\n",
		v.checked, topic, len(v.keys.Keys()), v.checked-bad, v.failed["tampered"], v.failed["unsigned"], v.failed["unknown-key"])
	if bad > 0 {
		return fmt.Errorf("%w: %d of %d on %s (not applied to the state)", ErrUnverified, bad, v.checked, topic)
	}
	return nil
}
