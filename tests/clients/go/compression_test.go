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

var codecs = []struct {
	name  string
	codec kgo.CompressionCodec
	attr  uint8 // the compression bits of a record batch's attributes
}{
	{"gzip", kgo.GzipCompression(), 1},
	{"snappy", kgo.SnappyCompression(), 2},
	{"lz4", kgo.Lz4Compression(), 3},
	{"zstd", kgo.ZstdCompression(), 4},
}

// compressible is a value that compresses well and is unique per i.
func compressible(codec string, i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s record %06d|", codec, i)
	for b.Len() < size {
		fmt.Fprintf(&b, "strom %s compression round trip %d; ", codec, b.Len()%7)
	}
	return b.Bytes()[:size]
}

// For each codec: batches franz-go compressed are stored compressed (the
// batches a consumer fetches carry that codec, and the log is far smaller than
// the raw values) and read back intact, a 300 KB value included; and a topic
// with compression.type=<codec> stores uncompressed batches with that codec.
func TestCompression(t *testing.T) {
	t.Parallel()
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			const n, size = 300, 2000
			adm := newAdmin(t, shared)
			topic := createTopic(t, adm, 1, nil)
			prod := newClient(t, shared, kgo.DefaultProduceTopic(topic),
				kgo.ProducerBatchCompression(c.codec), kgo.ProducerLinger(20*time.Millisecond))
			var rs []*kgo.Record
			raw := 0
			for i := range n {
				v := compressible(c.name, i, size)
				raw += len(v)
				rs = append(rs, &kgo.Record{
					Key:     fmt.Appendf(nil, "k%d", i),
					Value:   v,
					Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(c.name)}},
				})
			}
			big := []byte(strings.Repeat(c.name+" big value ", 300_000/(len(c.name)+11)+1))[:300_000]
			rs = append(rs, &kgo.Record{Key: []byte("big"), Value: big})
			raw += len(big)
			produceSync(t, prod, rs...)
			checkDense(t, rs, map[int32]int64{})

			cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			got := pollUntil(t, cons, n+1, waitTimeout)
			checkDense(t, got, map[int32]int64{})
			for i, r := range got {
				if r.Attrs.CompressionType() != c.attr {
					t.Fatalf("offset %d: fetched batch has compression %d, want %d (%s)", r.Offset, r.Attrs.CompressionType(), c.attr, c.name)
				}
				if !bytes.Equal(r.Key, rs[i].Key) || !bytes.Equal(r.Value, rs[i].Value) {
					t.Fatalf("offset %d: key %q / value of %d bytes differ from what was produced", r.Offset, r.Key, len(r.Value))
				}
				if i < n && (len(r.Headers) != 1 || string(r.Headers[0].Value) != c.name) {
					t.Fatalf("offset %d: headers %+v", r.Offset, r.Headers)
				}
			}
			stored := partitionSize(t, adm, topic)
			t.Logf("%s: %d bytes of values stored in %d bytes", c.name, raw, stored)
			if stored <= 0 || stored > int64(raw)/4 {
				t.Fatalf("the log holds %d bytes for %d bytes of values: not stored compressed", stored, raw)
			}

			// Topic-level compression.type: the broker compresses what arrives uncompressed.
			ctopic := createTopic(t, adm, 1, map[string]*string{"compression.type": kadm.StringPtr(c.name)})
			plain := newClient(t, shared, kgo.DefaultProduceTopic(ctopic),
				kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(20*time.Millisecond))
			var prs []*kgo.Record
			for i := range 50 {
				prs = append(prs, &kgo.Record{Value: compressible(c.name, i, size)})
			}
			produceSync(t, plain, prs...)
			ccons := newClient(t, shared, kgo.ConsumeTopics(ctopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			cgot := pollUntil(t, ccons, 50, waitTimeout)
			checkDense(t, cgot, map[int32]int64{})
			for i, r := range cgot {
				if r.Attrs.CompressionType() != c.attr || !bytes.Equal(r.Value, prs[i].Value) {
					t.Fatalf("compression.type=%s topic, offset %d: batch compression %d (want %d), value intact %v",
						c.name, r.Offset, r.Attrs.CompressionType(), c.attr, bytes.Equal(r.Value, prs[i].Value))
				}
			}
		})
	}
}

// partitionSize is partition 0's size on disk, as DescribeLogDirs reports it.
func partitionSize(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	all, err := adm.DescribeAllLogDirs(ctxFor(t, 30*time.Second), kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var size int64 = -1
	all.Each(func(d kadm.DescribedLogDir) {
		if p, ok := d.Topics.Lookup(topic, 0); ok {
			size = p.Size
		}
	})
	return size
}
