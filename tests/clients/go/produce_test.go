package strom_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka's UtilsTest.testMurmur2 values: the hash written here is Java's.
func TestPartitionerMurmur2KnownValues(t *testing.T) {
	t.Parallel()
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for in, want := range cases {
		if got := murmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// Keyed records with headers, acks 0 / 1 / all: each lands on the murmur2
// partition (in the produce result and where a consumer finds it), offsets are
// dense per partition and in produce order, headers and timestamps round-trip.
func TestProduceAcks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []kgo.Opt
		acks bool // the produce result carries the broker's offset
	}{
		{"none", []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}, false},
		{"leader", []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}, true},
		{"all", []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const partitions, n = 6, 90
			adm := newAdmin(t, shared)
			topic := createTopic(t, adm, partitions, nil)
			prod := newClient(t, shared, append(tc.opts, kgo.DefaultProduceTopic(topic))...)

			ts := time.UnixMilli(time.Now().UnixMilli() - 60_000)
			var rs []*kgo.Record
			for i := range n {
				key := fmt.Appendf(nil, "key-%d", i%30) // 30 keys, 3 records each
				rs = append(rs, &kgo.Record{
					Key:       key,
					Value:     fmt.Appendf(nil, "value-%d", i),
					Timestamp: ts.Add(time.Duration(i) * time.Millisecond),
					Headers: []kgo.RecordHeader{
						{Key: "seq", Value: fmt.Appendf(nil, "%d", i)},
						{Key: "empty", Value: []byte{}},
						{Key: "seq", Value: []byte("dup-key")},
					},
				})
			}
			produceSync(t, prod, rs...)
			produced := make(map[string]*kgo.Record) // value -> produce result
			for _, r := range rs {
				if want := kafkaPartition(r.Key, partitions); r.Partition != want {
					t.Fatalf("%s: produced to partition %d, murmur2 says %d", r.Key, r.Partition, want)
				}
				produced[string(r.Value)] = r
			}
			if tc.acks {
				checkDense(t, rs, map[int32]int64{})
			}

			cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			got := pollUntil(t, cons, n, waitTimeout)
			if len(got) != n {
				t.Fatalf("consumed %d records, want %d", len(got), n)
			}
			checkDense(t, got, map[int32]int64{})
			seen := make(map[string]bool)
			lastIndex := make(map[int32]int)
			for _, r := range got {
				v := string(r.Value)
				p, ok := produced[v]
				if !ok || seen[v] {
					t.Fatalf("unexpected or duplicate record %q", v)
				}
				seen[v] = true
				if want := kafkaPartition(r.Key, partitions); r.Partition != want {
					t.Fatalf("%s found on partition %d, murmur2 says %d", r.Key, r.Partition, want)
				}
				if tc.acks && r.Offset != p.Offset {
					t.Fatalf("%s at offset %d, produce result said %d", v, r.Offset, p.Offset)
				}
				var i int
				fmt.Sscanf(v, "value-%d", &i)
				if last, ok := lastIndex[r.Partition]; ok && i <= last {
					t.Fatalf("partition %d: value-%d after value-%d (order lost)", r.Partition, i, last)
				}
				lastIndex[r.Partition] = i
				if !r.Timestamp.Equal(p.Timestamp) {
					t.Fatalf("%s: timestamp %v, produced %v", v, r.Timestamp, p.Timestamp)
				}
				if len(r.Headers) != 3 || r.Headers[0].Key != "seq" || string(r.Headers[0].Value) != fmt.Sprint(i) ||
					r.Headers[1].Key != "empty" || len(r.Headers[1].Value) != 0 ||
					r.Headers[2].Key != "seq" || string(r.Headers[2].Value) != "dup-key" {
					t.Fatalf("%s: headers %+v", v, r.Headers)
				}
			}
			// The high watermarks add up to what was produced, per partition.
			ends, err := adm.ListEndOffsets(ctxFor(t, 30*time.Second), topic)
			if err != nil {
				t.Fatal(err)
			}
			counts := make(map[int32]int64)
			for _, r := range got {
				counts[r.Partition]++
			}
			for p := int32(0); p < partitions; p++ {
				o, _ := ends.Lookup(topic, p)
				if o.Err != nil || o.Offset != counts[p] {
					t.Fatalf("partition %d: end offset %d (%v), consumed %d", p, o.Offset, o.Err, counts[p])
				}
			}
		})
	}
}

// Explicit partitions (ManualPartitioner), explicit timestamps, null values and
// unkeyed records; async Produce with many records in flight keeps per-partition order.
func TestProduceManualPartitionsAndAsync(t *testing.T) {
	t.Parallel()
	const partitions, perPartition = 4, 250
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, partitions, nil)
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))

	base := time.Now().Add(-time.Hour).UnixMilli()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range perPartition {
		for p := int32(0); p < partitions; p++ {
			r := &kgo.Record{Partition: p, Timestamp: time.UnixMilli(base + int64(i))}
			if i%10 != 9 { // every tenth record has a null value
				r.Value = fmt.Appendf(nil, "p%d-%d", p, i)
			}
			if i%2 == 0 {
				r.Key = []byte("k")
			}
			wg.Add(1)
			prod.Produce(context.Background(), r, func(r *kgo.Record, err error) {
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("produce: %v", firstErr)
	}

	cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := pollUntil(t, cons, partitions*perPartition, waitTimeout)
	checkDense(t, got, map[int32]int64{})
	for p, prs := range byPartition(got) {
		if len(prs) != perPartition {
			t.Fatalf("partition %d holds %d records, want %d", p, len(prs), perPartition)
		}
		for i, r := range prs {
			if r.Timestamp.UnixMilli() != base+int64(i) {
				t.Fatalf("partition %d offset %d: timestamp %d, want %d", p, r.Offset, r.Timestamp.UnixMilli(), base+int64(i))
			}
			if i%10 == 9 {
				if r.Value != nil {
					t.Fatalf("partition %d offset %d: value %q, want null", p, r.Offset, r.Value)
				}
			} else if want := fmt.Sprintf("p%d-%d", p, i); string(r.Value) != want {
				t.Fatalf("partition %d offset %d: value %q, want %q (order)", p, r.Offset, r.Value, want)
			}
			if (i%2 == 0) != (r.Key != nil) || (r.Key != nil && !bytes.Equal(r.Key, []byte("k"))) {
				t.Fatalf("partition %d offset %d: key %q", p, r.Offset, r.Key)
			}
		}
	}
}

// franz-go's default producer is idempotent: every record carries the producer
// id the broker handed out, epoch 0, offsets are dense and nothing is duplicated.
func TestIdempotenceDefaultProducer(t *testing.T) {
	t.Parallel()
	const partitions, n = 3, 600
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, partitions, nil)
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(2*time.Millisecond))
	other := newClient(t, shared, kgo.DefaultProduceTopic(topic))

	var wg sync.WaitGroup
	errs := make(chan error, n)
	var rs []*kgo.Record
	for i := range n {
		r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%17), Value: fmt.Appendf(nil, "v%d", i)}
		rs = append(rs, r)
		wg.Add(1)
		prod.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("produce: %v", err)
	}
	pid, epoch, err := prod.ProducerID(ctxFor(t, 30*time.Second))
	if err != nil || pid < 0 || epoch != 0 {
		t.Fatalf("ProducerID() = %d, %d, %v; want an id >= 0 and epoch 0", pid, epoch, err)
	}
	for _, r := range rs {
		if r.ProducerID != pid || r.ProducerEpoch != 0 {
			t.Fatalf("produce result %s: producer %d epoch %d, want %d epoch 0", r.Value, r.ProducerID, r.ProducerEpoch, pid)
		}
	}
	// A second producer gets a different id.
	produceSync(t, other, &kgo.Record{Key: []byte("other"), Value: []byte("other")})
	pid2, _, err := other.ProducerID(ctxFor(t, 30*time.Second))
	if err != nil || pid2 == pid || pid2 < 0 {
		t.Fatalf("second producer's id %d (%v); the first has %d", pid2, err, pid)
	}

	cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := pollUntil(t, cons, n+1, waitTimeout)
	checkDense(t, got, map[int32]int64{})
	seen := make(map[string]bool)
	for _, r := range got {
		if seen[string(r.Value)] {
			t.Fatalf("duplicate record %s", r.Value)
		}
		seen[string(r.Value)] = true
		want := pid
		if string(r.Value) == "other" {
			want = pid2
		}
		if r.ProducerID != want || r.ProducerEpoch != 0 {
			t.Fatalf("consumed %s: producer %d epoch %d, want %d epoch 0", r.Value, r.ProducerID, r.ProducerEpoch, want)
		}
		if r.Partition != kafkaPartition(r.Key, partitions) {
			t.Fatalf("%s on partition %d, murmur2 says %d", r.Key, r.Partition, kafkaPartition(r.Key, partitions))
		}
	}
	if extra := pollFor(t, cons, time.Second); len(extra) != 0 {
		t.Fatalf("%d records beyond the %d produced", len(extra), n+1)
	}
}

// With DisableIdempotentWrite the records carry no producer id (-1) and still
// arrive once each, densely.
func TestIdempotenceDisabled(t *testing.T) {
	t.Parallel()
	const n = 200
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, 2, nil)
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.DisableIdempotentWrite())
	var rs []*kgo.Record
	for i := range n {
		rs = append(rs, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	produceSync(t, prod, rs...)
	checkDense(t, rs, map[int32]int64{})
	cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := pollUntil(t, cons, n, waitTimeout)
	checkDense(t, got, map[int32]int64{})
	seen := make(map[string]bool)
	for _, r := range got {
		if seen[string(r.Value)] {
			t.Fatalf("duplicate record %s", r.Value)
		}
		seen[string(r.Value)] = true
		if r.ProducerID != -1 || r.ProducerEpoch != -1 {
			t.Fatalf("%s: producer id %d epoch %d, want -1/-1 from a non-idempotent producer", r.Value, r.ProducerID, r.ProducerEpoch)
		}
	}
}

// A topic with message.timestamp.type=LogAppendTime: the broker stamps each batch
// with its own clock and marks it so; CreateTime topics keep the producer's time.
func TestProduceLogAppendTime(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t, shared)
	lat := createTopic(t, adm, 1, map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")})
	ct := createTopic(t, adm, 1, nil)
	prod := newClient(t, shared)
	old := time.UnixMilli(1_600_000_000_000)
	before := time.Now().Add(-time.Second)
	produceSync(t, prod,
		&kgo.Record{Topic: lat, Value: []byte("a"), Timestamp: old},
		&kgo.Record{Topic: lat, Value: []byte("b"), Timestamp: old},
		&kgo.Record{Topic: ct, Value: []byte("c"), Timestamp: old})
	after := time.Now().Add(time.Second)

	cons := newClient(t, shared, kgo.ConsumeTopics(lat, ct), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for _, r := range pollUntil(t, cons, 3, waitTimeout) {
		switch r.Topic {
		case lat:
			if r.Attrs.TimestampType() != 1 || r.Timestamp.Before(before) || r.Timestamp.After(after) {
				t.Fatalf("LogAppendTime topic, %s: timestamp type %d, timestamp %v; want type 1 and the append time (between %v and %v)",
					r.Value, r.Attrs.TimestampType(), r.Timestamp, before, after)
			}
		case ct:
			if r.Attrs.TimestampType() != 0 || !r.Timestamp.Equal(old) {
				t.Fatalf("CreateTime topic: timestamp type %d, timestamp %v; want 0 and %v", r.Attrs.TimestampType(), r.Timestamp, old)
			}
		}
	}
}
