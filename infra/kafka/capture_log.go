package kafka

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/replay"
)

// CaptureLog reads the capture topics for a replay: table by table in the catalogue's dependency order, each
// topic's partitions from their log start (or a checkpoint) up to their end as it was when the table was begun.
type CaptureLog struct {
	brokers []string
	prefix  string
}

var _ replay.Reader = (*CaptureLog)(nil)

// NewCaptureLog reads the capture topics under prefix.
func NewCaptureLog(brokers []string, prefix string) *CaptureLog {
	return &CaptureLog{brokers: brokers, prefix: prefix}
}

// logCheckpoint is where a capture replay resumes: the table, each partition's next offset and its end, and the
// work orders a registration number named so far (their families come on later topics).
type logCheckpoint struct {
	Table  string          `json:"table"`
	Next   map[int32]int64 `json:"next,omitempty"`
	End    map[int32]int64 `json:"end,omitempty"`
	Family []string        `json:"family,omitempty"`
}

// Total is the records the selected topics hold now.
func (l *CaptureLog) Total(ctx context.Context, f replay.Filter) (int64, error) {
	adm, err := l.admin()
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	var total int64
	for _, k := range f.Kinds() {
		start, end, err := logBounds(ctx, adm, events.CaptureTopic(l.prefix, k.Table))
		if err != nil {
			return 0, err
		}
		for p, e := range end {
			total += max(e-start[p], 0)
		}
	}
	return total, nil
}

func (l *CaptureLog) admin() (*kadm.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.brokers...))
	if err != nil {
		return nil, fmt.Errorf("connect to %v: %w", l.brokers, err)
	}
	return kadm.NewClient(cl), nil
}

// logBounds are each partition's log start and end.
func logBounds(ctx context.Context, adm *kadm.Client, topic string) (start, end map[int32]int64, err error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	start, end = map[int32]int64{}, map[int32]int64{}
	starts.Each(func(o kadm.ListedOffset) { start[o.Partition] = o.Offset })
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	return start, end, nil
}

// Open starts reading at the checkpoint, or at the first selected table's log start.
func (l *CaptureLog) Open(ctx context.Context, f replay.Filter, checkpoint json.RawMessage) (replay.Cursor, error) {
	c := &logCursor{log: l, kinds: f.Kinds()}
	if checkpoint != nil {
		if err := json.Unmarshal(checkpoint, &c.at); err != nil {
			return nil, fmt.Errorf("replay checkpoint: %w", err)
		}
	}
	c.match = replay.NewMatcher(f, c.at.Family)
	if c.at.Table == "" && len(c.kinds) > 0 {
		c.at.Table = c.kinds[0].Table
	}
	return c, nil
}

type logCursor struct {
	log    *CaptureLog
	kinds  []events.Kind
	match  *replay.Matcher
	at     logCheckpoint
	client *kgo.Client // reading at.Table
}

func (c *logCursor) Close() {
	if c.client != nil {
		c.client.Close()
		c.client = nil
	}
}

// Next reads what one poll of the current table gives (at most about limit records), or moves on to the next
// table once every partition reached its end.
func (c *logCursor) Next(ctx context.Context, limit int) (replay.Batch, error) {
	if c.at.Table == "" {
		return c.batch(nil, 0, true)
	}
	if c.client == nil {
		if err := c.begin(ctx); err != nil {
			return replay.Batch{}, err
		}
	}
	if c.finished() {
		return c.nextTable()
	}
	fetches := c.client.PollRecords(ctx, max(limit/100, 1)) // an envelope holds up to 1,000 rows
	if err := ctx.Err(); err != nil {
		return replay.Batch{}, err
	}
	if err := fetches.Err0(); err != nil {
		return replay.Batch{}, fmt.Errorf("read %s: %w", events.CaptureTopic(c.log.prefix, c.at.Table), err)
	}
	var rows []events.RowVersion
	var records int64
	fetches.EachRecord(func(r *kgo.Record) {
		end := c.at.End[r.Partition]
		if r.Offset < c.at.Next[r.Partition] || r.Offset >= end {
			return
		}
		records++
		c.at.Next[r.Partition] = r.Offset + 1
		for _, v := range versions(r) {
			if c.match.Match(v) {
				rows = append(rows, v)
			}
		}
	})
	return c.batch(rows, records, false)
}

// begin opens the current table's partitions at their checkpoint, or at their log start up to their end now.
func (c *logCursor) begin(ctx context.Context) error {
	topic := events.CaptureTopic(c.log.prefix, c.at.Table)
	if c.at.Next == nil {
		adm, err := c.log.admin()
		if err != nil {
			return err
		}
		c.at.Next, c.at.End, err = logBounds(ctx, adm, topic)
		adm.Close()
		if err != nil {
			return err
		}
	}
	offsets := map[int32]kgo.Offset{}
	for p, next := range c.at.Next {
		if next < c.at.End[p] {
			offsets[p] = kgo.NewOffset().At(next)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.log.brokers...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	if err != nil {
		return fmt.Errorf("connect to %v: %w", c.log.brokers, err)
	}
	c.client = cl
	return nil
}

func (c *logCursor) finished() bool {
	for p, end := range c.at.End {
		if c.at.Next[p] < end {
			return false
		}
	}
	return true
}

func (c *logCursor) nextTable() (replay.Batch, error) {
	c.Close()
	i := 0
	for i < len(c.kinds) && c.kinds[i].Table != c.at.Table {
		i++
	}
	c.at = logCheckpoint{}
	if i+1 < len(c.kinds) {
		c.at.Table = c.kinds[i+1].Table
	}
	return c.batch(nil, 0, c.at.Table == "")
}

func (c *logCursor) batch(rows []events.RowVersion, records int64, last bool) (replay.Batch, error) {
	c.at.Family = c.match.FamilyIDs()
	cp, err := json.Marshal(c.at)
	return replay.Batch{Rows: rows, Checkpoint: cp, Done: records, Last: last}, err
}

// versions reads a capture record's row versions; a record that cannot be read was quarantined when the live
// flow met it, and is skipped here.
func versions(r *kgo.Record) []events.RowVersion {
	view := toRecordView(r)
	msg := message.NewMessage(view.Headers["_watermill_message_uuid"], view.Value)
	for k, v := range view.Headers {
		msg.Metadata.Set(k, v)
	}
	rows, err := capture.RowVersionsFromMessage(msg)
	if err != nil {
		return nil
	}
	return rows
}
