package strom_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("%s: error %v, want %v", what, got, want)
	}
}

// Kafka's error codes for bad requests, against a broker with
// auto.create.topics.enable=false.
func TestErrors(t *testing.T) {
	t.Parallel()
	eb := startTestBroker(t, map[string]string{"auto.create.topics.enable": "false"})

	t.Run("TopicAlreadyExists", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 30*time.Second)
		existing, fresh := name(t, "existing"), name(t, "fresh")
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, existing); err != nil {
			t.Fatal(err)
		}
		rs, err := adm.CreateTopics(ctx, 2, 1, nil, existing, fresh)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "creating an existing topic", rs[existing].Err, kerr.TopicAlreadyExists)
		if rs[fresh].Err != nil {
			t.Fatalf("the other topic of the same request: %v", rs[fresh].Err)
		}
	})

	t.Run("InvalidTopicException", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		bad := []string{"bad name!", "..", ".", strings.Repeat("x", 250), "a/b"}
		rs, err := adm.CreateTopics(ctxFor(t, 30*time.Second), 1, 1, nil, bad...)
		if err != nil {
			t.Fatal(err)
		}
		for _, topic := range bad {
			wantErr(t, fmt.Sprintf("creating topic %q", topic), rs[topic].Err, kerr.InvalidTopicException)
		}
	})

	t.Run("InvalidReplicationFactorAndPartitions", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 30*time.Second)
		rf := name(t, "rf")
		r, err := adm.CreateTopics(ctx, 1, 3, nil, rf)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "replication factor 3 on one broker", r[rf].Err, kerr.InvalidReplicationFactor)
		zero := name(t, "zero")
		r, err = adm.CreateTopics(ctx, 0, 1, nil, zero)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "0 partitions", r[zero].Err, kerr.InvalidPartitions)
	})

	t.Run("UnknownTopicOrPartition", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 60*time.Second)
		missing := name(t, "missing")
		// Metadata.
		l, err := adm.ListTopics(ctx, missing)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "metadata for a missing topic", l[missing].Err, kerr.UnknownTopicOrPartition)
		// Produce, even from a client that asks for auto-creation: the broker has it off.
		prod := newClient(t, eb, kgo.DefaultProduceTopic(missing), kgo.AllowAutoTopicCreation(),
			kgo.UnknownTopicRetries(2), kgo.RecordDeliveryTimeout(15*time.Second))
		start := time.Now()
		err = prod.ProduceSync(ctx, &kgo.Record{Value: []byte("nowhere")}).FirstErr()
		wantErr(t, "producing to a missing topic", err, kerr.UnknownTopicOrPartition)
		t.Logf("produce to a missing topic failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
		l, err = adm.ListTopics(ctx, missing)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "metadata after the produce (no auto-creation)", l[missing].Err, kerr.UnknownTopicOrPartition)
		// Admin requests on the missing topic.
		rcs, err := adm.DescribeTopicConfigs(ctx, missing)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := rcs.On(missing, nil)
		wantErr(t, "DescribeConfigs", rc.Err, kerr.UnknownTopicOrPartition)
		dt, err := adm.DeleteTopics(ctx, missing)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "DeleteTopics", dt[missing].Err, kerr.UnknownTopicOrPartition)
		cp, err := adm.UpdatePartitions(ctx, 2, missing) // sent as is (CreatePartitions first reads metadata)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "CreatePartitions", cp[missing].Err, kerr.UnknownTopicOrPartition)
	})

	t.Run("MessageTooLarge", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 60*time.Second)
		topic := name(t, "small")
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("1024")}, topic); err != nil {
			t.Fatal(err)
		}
		// Incompressible values, no compression, and a client-side limit far
		// above the topic's: the broker is the one that refuses.
		prod := newClient(t, eb, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(4<<20),
			kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordDeliveryTimeout(30*time.Second))
		big := make([]byte, 4000)
		rand.Read(big)
		err := prod.ProduceSync(ctx, &kgo.Record{Value: big}).FirstErr()
		wantErr(t, "a 4000-byte record on a topic with max.message.bytes=1024", err, kerr.MessageTooLarge)
		small := produceSync(t, prod, &kgo.Record{Value: big[:200]})
		if small[0].Offset != 0 {
			t.Fatalf("the small record went to offset %d, want 0 (nothing of the large one stored)", small[0].Offset)
		}
	})

	t.Run("InvalidRecord", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 30*time.Second)
		topic := name(t, "compacted")
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic); err != nil {
			t.Fatal(err)
		}
		prod := newClient(t, eb, kgo.DefaultProduceTopic(topic), kgo.RecordDeliveryTimeout(20*time.Second))
		err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("no key")}).FirstErr()
		wantErr(t, "a record without a key on a compacted topic", err, kerr.InvalidRecord)
		if rs := produceSync(t, prod, &kgo.Record{Key: []byte("k"), Value: []byte("keyed")}); rs[0].Offset != 0 {
			t.Fatalf("the keyed record went to offset %d, want 0", rs[0].Offset)
		}
	})

	t.Run("InvalidConfig", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 30*time.Second)
		for key, value := range map[string]string{
			"retention.ms":      "abc",
			"cleanup.policy":    "bogus",
			"max.message.bytes": "-5",
			"no.such.config":    "1",
		} {
			topic := name(t, "badconfig")
			r, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{key: kadm.StringPtr(value)}, topic)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, fmt.Sprintf("CreateTopics with %s=%s", key, value), r[topic].Err, kerr.InvalidConfig)
		}
		topic := name(t, "topic")
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		for key, value := range map[string]string{"retention.ms": "abc", "cleanup.policy": "bogus"} {
			resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: kadm.StringPtr(value)}}, topic)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := resp.On(topic, nil)
			wantErr(t, fmt.Sprintf("AlterTopicConfigs %s=%s", key, value), r.Err, kerr.InvalidConfig)
		}
		cs := configMap(t, adm, topic)
		wantConfig(t, cs, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
		wantConfig(t, cs, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	})

	t.Run("InvalidPartitions", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 30*time.Second)
		topic := name(t, "three")
		if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2, 3} {
			r, err := adm.UpdatePartitions(ctx, n, topic)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, fmt.Sprintf("setting 3 partitions to %d", n), r[topic].Err, kerr.InvalidPartitions)
		}
		l, err := adm.ListTopics(ctx, topic)
		if err != nil || len(l[topic].Partitions) != 3 {
			t.Fatalf("after the refused changes: %v %+v", err, l[topic])
		}
	})

	t.Run("OffsetOutOfRange", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 30*time.Second)
		topic := name(t, "records")
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		produceSync(t, newClient(t, eb, kgo.DefaultProduceTopic(topic)), &kgo.Record{Value: []byte("a")}, &kgo.Record{Value: []byte("b")})
		dr, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 5}}})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := dr.Lookup(topic, 0)
		wantErr(t, "DeleteRecords beyond the high watermark", r.Err, kerr.OffsetOutOfRange)
	})

	t.Run("NonEmptyGroup", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		ctx := ctxFor(t, 90*time.Second)
		topic := name(t, "topic")
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		produceSync(t, newClient(t, eb, kgo.DefaultProduceTopic(topic)), &kgo.Record{Value: []byte("x")})
		group := name(t, "group")
		m := newClient(t, eb, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		pollUntil(t, m, 1, waitTimeout)
		if err := m.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatal(err)
		}
		dr, err := adm.DeleteGroups(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "deleting a group with a live member", dr[group].Err, kerr.NonEmptyGroup)

		// Clients cannot write to the offsets topic (it exists now).
		p := newClient(t, eb, kgo.DefaultProduceTopic("__consumer_offsets"),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(20*time.Second))
		err = p.ProduceSync(ctx, &kgo.Record{Partition: 0, Key: []byte("k"), Value: []byte("v")}).FirstErr()
		wantErr(t, "producing to __consumer_offsets", err, kerr.InvalidTopicException)

		m.Close() // the last member leaves: the group is Empty at once and can go
		dr, err = adm.DeleteGroups(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if err := dr[group].Err; err != nil {
			t.Fatalf("deleting the group right after its last member left: %v", err)
		}
		dr, err = adm.DeleteGroups(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "deleting a deleted group", dr[group].Err, kerr.GroupIDNotFound)
		dg, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "describing a deleted group (DescribeGroups v6, KIP-1043)", dg[group].Err, kerr.GroupIDNotFound)
	})

	// Strom has no transaction coordinator yet: a transactional producer must
	// fail cleanly and quickly, not hang.
	t.Run("TransactionalProducerRefused", func(t *testing.T) {
		t.Parallel()
		adm := kadm.NewClient(newClient(t, eb))
		topic := name(t, "txn")
		if _, err := adm.CreateTopic(ctxFor(t, 30*time.Second), 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		prod := newClient(t, eb, kgo.DefaultProduceTopic(topic), kgo.TransactionalID(name(t, "txid")),
			kgo.RecordDeliveryTimeout(20*time.Second))
		// franz-go sends InitProducerId (with the transactional id) from
		// BeginTransaction; Strom refuses it with INVALID_REQUEST.
		start := time.Now()
		err := prod.BeginTransaction()
		took := time.Since(start)
		t.Logf("BeginTransaction failed after %s with: %v", took.Round(time.Millisecond), err)
		if took > 25*time.Second {
			t.Fatalf("BeginTransaction took %s", took)
		}
		wantErr(t, "BeginTransaction (InitProducerId with a transactional id)", err, kerr.InvalidRequest)
		// A produce outside a transaction fails at once, and stores nothing.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		perr := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("not in a transaction")}).FirstErr()
		t.Logf("produce after the failed BeginTransaction: %v", perr)
		if perr == nil || ctx.Err() != nil {
			t.Fatalf("produce from the failed transactional client: %v (context: %v)", perr, ctx.Err())
		}
		ends, lerr := adm.ListEndOffsets(ctxFor(t, 30*time.Second), topic)
		if lerr != nil {
			t.Fatal(lerr)
		}
		if o, _ := ends.Lookup(topic, 0); o.Offset != 0 {
			t.Fatalf("the refused transactional record was stored (end offset %d)", o.Offset)
		}
	})
}
