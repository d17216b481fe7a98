package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"hotline-bridge/events"
	"hotline-bridge/events/signing"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// unitRecords is every record on every unit topic and broadcast.
func unitRecords(t *testing.T, e *bridgeEnv) []kafka.Record {
	t.Helper()
	var out []kafka.Record
	for _, unit := range append(jurisdiction.DefaultUnits().Codes(), events.BroadcastUnit) {
		topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
		err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
			out = append(out, r)
			return nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
	}
	return out
}

// publishedKeys is the keys topic read whole, as a district reads it.
func publishedKeys(t *testing.T, e *bridgeEnv) *signing.KeySet {
	t.Helper()
	set, err := kafka.ReadKeys(context.Background(), kafkaConfig(e), events.KeysTopic(e.cfg.TopicPrefix))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// assertAllVerify checks every record against the published keys and counts them by the key that signed them.
func assertAllVerify(t *testing.T, set *signing.KeySet, records []kafka.Record) map[string]int {
	t.Helper()
	if len(records) == 0 {
		t.Fatal("no events on the unit topics")
	}
	byKey := map[string]int{}
	for _, r := range records {
		if err := set.Verify(signing.Record{Headers: r.Headers, Key: []byte(r.Key), Value: r.Value}); err != nil {
			t.Fatalf("%s partition %d offset %d (ce_id %s): %v", r.Topic, r.Partition, r.Offset, r.Headers[events.HeaderID], err)
		}
		byKey[r.Headers[events.HeaderSignatureKeyID]]++
	}
	return byKey
}

func TestEveryEventVerifiesWithTheKeyPublishedOnTheCompactedKeysTopic(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	set := publishedKeys(t, e)
	keys := set.Keys()
	if len(keys) != 1 || keys[0].Algorithm != signing.Ed25519 || keys[0].Retired != nil {
		t.Fatalf("published keys %+v, want one current ed25519 key", keys)
	}
	active := store.strings(t, `SELECT key_id FROM bridge.signing_key WHERE retired_at IS NULL AND private_key IS NOT NULL`)
	if len(active) != 1 || active[0] != keys[0].ID {
		t.Fatalf("the store's active key %v, the published one %s", active, keys[0].ID)
	}
	records := unitRecords(t, e)
	if byKey := assertAllVerify(t, set, records); byKey[keys[0].ID] != len(records) {
		t.Fatalf("events by signing key %v, want all %d by %s", byKey, len(records), keys[0].ID)
	}
	if published := store.count(t, `SELECT count(*) FROM bridge.outbox`); published != len(records) {
		t.Fatalf("%d events verified, the outbox holds %d", len(records), published)
	}
	configs, err := testAdmin(t, e).DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: events.KeysTopic(e.cfg.TopicPrefix)})
	if err != nil {
		t.Fatal(err)
	}
	if !slicesContainsEntry(configs, "cleanup.policy", "compact") {
		t.Fatalf("the keys topic is not compacted: %v", configs)
	}

	var file bytes.Buffer
	if err := pipeline.PublicKeys(context.Background(), e.cfg, quietLogger(), &file); err != nil {
		t.Fatal(err)
	}
	fromFile, err := signing.ParseKeySet(file.Bytes())
	if err != nil {
		t.Fatalf("bridge keys public wrote what a district cannot read: %v\n%s", err, file.String())
	}
	assertAllVerify(t, fromFile, records[:1])
}

func slicesContainsEntry(configs []sarama.ConfigEntry, name, value string) bool {
	for _, c := range configs {
		if c.Name == name && c.Value == value {
			return true
		}
	}
	return false
}

// produce appends a record to topic and returns where it landed.
func produce(t *testing.T, e *bridgeEnv, topic string, key string, value []byte, headers map[string]string) (int32, int64) {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = sarama.V4_0_0_0
	sc.Producer.Return.Successes = true
	producer, err := sarama.NewSyncProducer(e.cfg.KafkaBrokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}
	for k, v := range headers {
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	partition, offset, err := producer.SendMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	return partition, offset
}

func TestTailVerifyNamesTamperedAndUnsignedEventsByOffsetAndExitsNonZero(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	unit := busiestUnit(t, store)
	topic := events.UnitTopic(e.cfg.TopicPrefix, unit)
	var original kafka.Record
	err := kafka.ReadTopic(context.Background(), e.cfg.KafkaBrokers, topic, true, false, func(r kafka.Record) error {
		if r.Headers[events.HeaderType] == "registration.upserted" && original.Value == nil {
			original = r
		}
		return nil
	})
	if err != nil || original.Value == nil {
		t.Fatalf("no registration on %s: %v", topic, err)
	}
	// A forger who cannot sign: the registration's phone-free summary changed, its signature copied along.
	tampered := bytes.Replace(original.Value, []byte(`"summary": `), []byte(`"summary": "FORGED-9f3", "was": `), 1)
	if bytes.Equal(tampered, original.Value) {
		t.Fatalf("the registration has no summary to change: %s", original.Headers[events.HeaderID])
	}
	tamperedAt := at(produce(t, e, topic, original.Key, tampered, original.Headers))
	unsignedHeaders := map[string]string{}
	for k, v := range original.Headers {
		if k != events.HeaderSignature && k != events.HeaderSignatureKeyID {
			unsignedHeaders[k] = v
		}
	}
	unsignedHeaders[events.HeaderID] = "0000000000000000000000000000beef"
	unsignedAt := at(produce(t, e, topic, original.Key, original.Value, unsignedHeaders))

	var out bytes.Buffer
	state, err := pipeline.Tail(context.Background(), e.cfg, &out, pipeline.TailOptions{Unit: unit, FromBeginning: true, Verify: true})
	if !errors.Is(err, pipeline.ErrUnverified) || !strings.Contains(err.Error(), "2 of ") {
		t.Fatalf("tail --verify = %v, want ErrUnverified for 2 events", err)
	}
	report := out.String()
	failures := regexp.MustCompile(`(?m)^NOT VERIFIED .*$`).FindAllString(report, -1)
	wantTampered := fmt.Sprintf("NOT VERIFIED tampered topic=%s %s id=%s: signature does not match", topic, tamperedAt, original.Headers[events.HeaderID])
	wantUnsigned := fmt.Sprintf("NOT VERIFIED unsigned topic=%s %s id=0000000000000000000000000000beef: unsigned", topic, unsignedAt)
	if len(failures) != 2 || !strings.HasPrefix(failures[0], wantTampered) || !strings.HasPrefix(failures[1], wantUnsigned) {
		t.Fatalf("failures reported:\n%s\nwant\n%s\n%s", strings.Join(failures, "\n"), wantTampered, wantUnsigned)
	}
	if strings.Contains(report, "FORGED") || strings.Contains(report, `"summary"`) {
		t.Fatalf("the report quotes payload content:\n%s", report)
	}
	if row := state[events.Registration][original.Headers[events.HeaderSubject]]; bytes.Contains(row, []byte("FORGED")) {
		t.Fatalf("the tampered event was applied to the state: %s", row)
	}

	// The command a district runs exits non-zero with the same lines.
	cmd := exec.Command(buildBridge(t), "tail", "--unit", unit, "--from-beginning", "--verify",
		"--kafka-brokers="+strings.Join(e.cfg.KafkaBrokers, ","), "--topic-prefix="+e.cfg.TopicPrefix)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(stdout), wantTampered) || !strings.Contains(string(stdout), wantUnsigned) {
		t.Fatalf("bridge tail --verify: %v; want exit 1 naming both events, printed:\n%s", err, lastLines(string(stdout), 5))
	}
}

func at(partition int32, offset int64) string {
	return fmt.Sprintf("partition=%d offset=%d", partition, offset)
}

func TestEventsSignedBeforeAndAfterARotationUnderARunningBridgeAllVerify(t *testing.T) {
	t.Parallel()
	e, store := seededEnv(t, 300)
	old := publishedKeys(t, e).Keys()[0]
	e.runInBackground(t)
	var out bytes.Buffer
	if err := pipeline.RotateSigningKey(context.Background(), e.cfg, quietLogger(), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "(ed25519) active") || lines[1] != "signing key "+old.ID+" (ed25519) retired; events it signed still verify" {
		t.Fatalf("rotate-signing printed:\n%s", out.String())
	}
	fresh := strings.Fields(lines[0])[2]
	rotatedAt := store.count(t, `SELECT coalesce(max(seq), 0) FROM bridge.outbox`)
	if _, err := seed.Change(context.Background(), e.upstream, seed.ChangeOptions{Seed: 5, Rounds: 2, BatchSize: 40, Interval: -1}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the changes published", 2*time.Minute, func() bool {
		return store.count(t, `SELECT count(*) FROM bridge.outbox WHERE seq > `+itoa(rotatedAt)) > 0 &&
			store.count(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`) == 0
	})
	set := publishedKeys(t, e)
	byKey := assertAllVerify(t, set, unitRecords(t, e))
	if byKey[old.ID] == 0 || byKey[fresh] == 0 || len(byKey) != 2 {
		t.Fatalf("events by signing key %v, want some by the old key %s and some by the new %s", byKey, old.ID, fresh)
	}
	after := map[string]bool{}
	for _, id := range store.strings(t, `SELECT event_id FROM bridge.outbox WHERE seq > `+itoa(rotatedAt)) {
		after[id] = true
	}
	for _, r := range unitRecords(t, e) {
		if after[r.Headers[events.HeaderID]] && r.Headers[events.HeaderSignatureKeyID] != fresh {
			t.Fatalf("event %s, made after the rotation, signed by %s", r.Headers[events.HeaderID], r.Headers[events.HeaderSignatureKeyID])
		}
	}
	for _, k := range set.Keys() {
		if (k.ID == old.ID) != (k.Retired != nil) {
			t.Fatalf("published key %s retired at %v; only %s is retired", k.ID, k.Retired, old.ID)
		}
	}
	var tail bytes.Buffer
	if _, err := pipeline.Tail(context.Background(), e.cfg, &tail, pipeline.TailOptions{Unit: busiestUnit(t, store), FromBeginning: true, Verify: true}); err != nil {
		t.Fatalf("tail --verify after a rotation: %v\n%s", err, lastLines(tail.String(), 3))
	}
}

func TestTwoBridgesStartingTogetherOnAnEmptyStoreSignWithOneKey(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	if _, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: 200, WuhanShare: 0.3, Seed: 51}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	errs := make([]error, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = pipeline.Run(ctx, e.cfg, quietLogger(), true)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("bridge run --until-idle, twice at once: %v", err)
	}
	store := storeQuerier(t, e)
	stored := store.strings(t, `SELECT key_id FROM bridge.signing_key`)
	keys := publishedKeys(t, e).Keys()
	if len(stored) != 1 || len(keys) != 1 || keys[0].ID != stored[0] {
		t.Fatalf("stored keys %v, published %+v: want one and the same", stored, keys)
	}
	assertAllVerify(t, publishedKeys(t, e), unitRecords(t, e))
}

func TestSM2WithSM3SignsEveryEventFromAStoredKeyOrAKeyFile(t *testing.T) {
	t.Parallel()
	for _, fromFile := range []bool{false, true} {
		t.Run(fmt.Sprintf("key file %t", fromFile), func(t *testing.T) {
			e := newBridgeEnv(t, testenv.KafkaBrokers(t))
			if _, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: 150, WuhanShare: 0.3, Seed: 61}); err != nil {
				t.Fatal(err)
			}
			e.cfg.Signing.Algorithm = signing.SM2SM3
			var fileKey *signing.PrivateKey
			if fromFile {
				e.cfg.Signing.KeyFile, fileKey = writeKeyFile(t, signing.SM2SM3)
			}
			e.runUntilIdle(t)
			keys := publishedKeys(t, e).Keys()
			if len(keys) != 1 || keys[0].Algorithm != signing.SM2SM3 || (fromFile && keys[0].ID != fileKey.ID) {
				t.Fatalf("published keys %+v, want one SM2 key (the file's: %t)", keys, fromFile)
			}
			records := unitRecords(t, e)
			if byKey := assertAllVerify(t, publishedKeys(t, e), records); byKey[keys[0].ID] != len(records) {
				t.Fatalf("events by key %v, want all %d by %s", byKey, len(records), keys[0].ID)
			}
			private := storeQuerier(t, e).count(t, `SELECT count(*) FROM bridge.signing_key WHERE private_key IS NOT NULL`)
			if want := map[bool]int{false: 1, true: 0}[fromFile]; private != want {
				t.Fatalf("%d private keys in the store, want %d (a file key's private half stays in the file)", private, want)
			}
		})
	}
}
