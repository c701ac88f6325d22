package strom_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	consumePartitions   = 3
	consumePerPartition = 10
	consumeTimeStep     = 1000 // ms between the timestamps of consecutive records
)

// seedConsumeTopic creates a 3-partition topic holding 10 records per partition:
// value "p<P>-<i>" at offset i, timestamp base + i*1000 ms.
func seedConsumeTopic(t *testing.T) (adm *kadm.Client, topic string, base int64) {
	t.Helper()
	adm = newAdmin(t, shared)
	topic = createTopic(t, adm, consumePartitions, nil)
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base = time.Now().Add(-time.Hour).UnixMilli()
	var rs []*kgo.Record
	for i := range consumePerPartition {
		for p := int32(0); p < consumePartitions; p++ {
			rs = append(rs, &kgo.Record{
				Partition: p,
				Value:     fmt.Appendf(nil, "p%d-%d", p, i),
				Timestamp: time.UnixMilli(base + int64(i)*consumeTimeStep),
			})
		}
	}
	produceSync(t, prod, rs...)
	return adm, topic, base
}

// checkRecords fails unless rs holds, per partition, exactly the seeded records
// from[p] .. consumePerPartition-1, in order, with their values and timestamps.
func checkRecords(t *testing.T, rs []*kgo.Record, base int64, from map[int32]int64) {
	t.Helper()
	parts := byPartition(rs)
	for p := int32(0); p < consumePartitions; p++ {
		start, ok := from[p]
		if !ok {
			start = consumePerPartition // nothing expected
		}
		prs := parts[p]
		if want := consumePerPartition - start; int64(len(prs)) != want {
			t.Fatalf("partition %d: %d records, want %d (from offset %d)", p, len(prs), want, start)
		}
		for i, r := range prs {
			off := start + int64(i)
			if r.Offset != off || string(r.Value) != fmt.Sprintf("p%d-%d", p, off) ||
				r.Timestamp.UnixMilli() != base+off*consumeTimeStep {
				t.Fatalf("partition %d: record %d is offset %d %q ts %d; want offset %d p%d-%d ts %d",
					p, i, r.Offset, r.Value, r.Timestamp.UnixMilli(), off, p, off, base+off*consumeTimeStep)
			}
		}
	}
}

func TestConsumePartitionsExactOffsets(t *testing.T) {
	t.Parallel()
	_, topic, base := seedConsumeTopic(t)
	cons := newClient(t, shared, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().At(3), 1: kgo.NewOffset().At(0), 2: kgo.NewOffset().At(9)},
	}))
	got := pollUntil(t, cons, 7+10+1, waitTimeout)
	got = append(got, pollFor(t, cons, time.Second)...)
	checkRecords(t, got, base, map[int32]int64{0: 3, 1: 0, 2: 9})
}

func TestConsumeResetOffset(t *testing.T) {
	t.Parallel()
	_, topic, base := seedConsumeTopic(t)

	t.Run("start", func(t *testing.T) {
		cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		got := pollUntil(t, cons, consumePartitions*consumePerPartition, waitTimeout)
		got = append(got, pollFor(t, cons, 500*time.Millisecond)...)
		checkRecords(t, got, base, map[int32]int64{0: 0, 1: 0, 2: 0})
	})
	t.Run("at", func(t *testing.T) {
		cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().At(6)))
		got := pollUntil(t, cons, consumePartitions*4, waitTimeout)
		got = append(got, pollFor(t, cons, 500*time.Millisecond)...)
		checkRecords(t, got, base, map[int32]int64{0: 6, 1: 6, 2: 6})
	})
	t.Run("after-milli", func(t *testing.T) {
		// The first record at or after the timestamp: offset 5 (ts base+5000).
		cons := newClient(t, shared, kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(base+4*consumeTimeStep+1)))
		got := pollUntil(t, cons, consumePartitions*5, waitTimeout)
		got = append(got, pollFor(t, cons, 500*time.Millisecond)...)
		checkRecords(t, got, base, map[int32]int64{0: 5, 1: 5, 2: 5})
	})
	t.Run("end", func(t *testing.T) {
		// Only records produced after the consumer started arrive. The consumer's
		// start is not observable, so keep producing markers to partition 1 until
		// one arrives; nothing from before (offsets < 10) may come.
		cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
		prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		var got []*kgo.Record
		deadline := time.Now().Add(waitTimeout)
		for i := 0; len(got) == 0; i++ {
			if time.Now().After(deadline) {
				t.Fatal("no record produced after the consumer started arrived")
			}
			produceSync(t, prod, &kgo.Record{Partition: 1, Value: fmt.Appendf(nil, "marker-%d", i)})
			got = pollFor(t, cons, 500*time.Millisecond)
		}
		for _, r := range got {
			if r.Partition != 1 || r.Offset < consumePerPartition || !strings.HasPrefix(string(r.Value), "marker-") {
				t.Fatalf("an AtEnd consumer got %s[%d]@%d %q: a record from before it started", r.Topic, r.Partition, r.Offset, r.Value)
			}
		}
	})
}

// SetOffsets moves a running consumer: backwards, forwards, and to the offset
// kadm.ListOffsetsAfterMilli finds for a timestamp.
func TestConsumeSetOffsetsAndOffsetsForTimes(t *testing.T) {
	t.Parallel()
	adm, topic, base := seedConsumeTopic(t)

	// Offsets for times: the first offset whose timestamp is >= the target.
	ctx := ctxFor(t, 30*time.Second)
	for _, tc := range []struct {
		ts   int64
		want int64
	}{
		{base - 1, 0},
		{base, 0},
		{base + 1, 1},
		{base + 7*consumeTimeStep, 7},
		{base + 9*consumeTimeStep, 9},
		{base + 9*consumeTimeStep + 1, consumePerPartition}, // after every record: the end offset
	} {
		listed, err := adm.ListOffsetsAfterMilli(ctx, tc.ts, topic)
		if err != nil {
			t.Fatal(err)
		}
		for p := int32(0); p < consumePartitions; p++ {
			o, ok := listed.Lookup(topic, p)
			if !ok || o.Err != nil || o.Offset != tc.want {
				t.Fatalf("ListOffsetsAfterMilli(base%+d)[%d] = %d (%v, found %v), want %d", tc.ts-base, p, o.Offset, o.Err, ok, tc.want)
			}
			if tc.want < consumePerPartition && o.Timestamp != base+tc.want*consumeTimeStep {
				t.Fatalf("ListOffsetsAfterMilli(base%+d)[%d]: timestamp %d, want %d", tc.ts-base, p, o.Timestamp, base+tc.want*consumeTimeStep)
			}
		}
	}

	cons := newClient(t, shared, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart()},
	}))
	checkRecords(t, pollUntil(t, cons, 10, waitTimeout), base, map[int32]int64{0: 0})

	cons.SetOffsets(map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 2}}})
	got := pollUntil(t, cons, 8, waitTimeout)
	got = append(got, pollFor(t, cons, 500*time.Millisecond)...)
	checkRecords(t, got, base, map[int32]int64{0: 2})

	listed, err := adm.ListOffsetsAfterMilli(ctx, base+6*consumeTimeStep-500, topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := listed.Lookup(topic, 0)
	if o.Offset != 6 {
		t.Fatalf("ListOffsetsAfterMilli: offset %d, want 6", o.Offset)
	}
	cons.SetOffsets(map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: o.Offset}}})
	got = pollUntil(t, cons, 4, waitTimeout)
	got = append(got, pollFor(t, cons, 500*time.Millisecond)...)
	checkRecords(t, got, base, map[int32]int64{0: 6})
}

// A paused partition returns nothing while the others keep returning records;
// resumed, it returns its records from where it was.
func TestConsumePauseResume(t *testing.T) {
	t.Parallel()
	_, topic, base := seedConsumeTopic(t)
	cons := newClient(t, shared, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart()},
	}))
	if paused := cons.PauseFetchPartitions(map[string][]int32{topic: {1}}); len(paused[topic]) != 1 {
		t.Fatalf("PauseFetchPartitions returned %v", paused)
	}
	got := pollUntil(t, cons, consumePerPartition, waitTimeout)
	// More records for partition 0 (and 1) while 1 is paused: 0's arrive, 1's do not.
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSync(t, prod,
		&kgo.Record{Partition: 0, Value: []byte("late-0")},
		&kgo.Record{Partition: 1, Value: []byte("late-1")})
	got = append(got, pollUntil(t, cons, 1, waitTimeout)...)
	got = append(got, pollFor(t, cons, 1500*time.Millisecond)...)
	for _, r := range got {
		if r.Partition != 0 {
			t.Fatalf("paused partition %d returned offset %d", r.Partition, r.Offset)
		}
	}
	if len(got) != consumePerPartition+1 || string(got[consumePerPartition].Value) != "late-0" {
		t.Fatalf("partition 0 returned %d records while 1 was paused, want %d ending with late-0", len(got), consumePerPartition+1)
	}
	checkRecords(t, got[:consumePerPartition], base, map[int32]int64{0: 0})

	cons.ResumeFetchPartitions(map[string][]int32{topic: {1}})
	resumed := pollUntil(t, cons, consumePerPartition+1, waitTimeout)
	resumed = append(resumed, pollFor(t, cons, 500*time.Millisecond)...)
	if len(resumed) != consumePerPartition+1 {
		t.Fatalf("resumed partition returned %d records, want %d", len(resumed), consumePerPartition+1)
	}
	checkRecords(t, resumed[:consumePerPartition], base, map[int32]int64{1: 0})
	if last := resumed[consumePerPartition]; last.Partition != 1 || last.Offset != consumePerPartition || string(last.Value) != "late-1" {
		t.Fatalf("last record after resume: %d@%d %q, want 1@10 late-1", last.Partition, last.Offset, last.Value)
	}
}

// KIP-74: a fetch whose byte limits are below the first record batch still gets
// that batch whole, so a consumer with small limits never stalls.
func TestConsumeFetchLimitsBelowBatchSize(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, 1, nil)
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	big := make([]byte, 200_000)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	produceSync(t, prod, &kgo.Record{Value: big})
	produceSync(t, prod, &kgo.Record{Value: []byte("small")}, &kgo.Record{Value: big[:50_000]})
	cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(1000), kgo.FetchMaxPartitionBytes(1000))
	got := pollUntil(t, cons, 3, waitTimeout)
	checkDense(t, got, map[int32]int64{0: 0})
	if !bytes.Equal(got[0].Value, big) || string(got[1].Value) != "small" || !bytes.Equal(got[2].Value, big[:50_000]) {
		t.Fatalf("records came back altered: sizes %d, %d, %d", len(got[0].Value), len(got[1].Value), len(got[2].Value))
	}
}
