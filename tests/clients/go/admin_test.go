package strom_test

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// checkPartitions fails unless the topic has n partitions, each led by node 1
// with replicas and ISR [1].
func checkPartitions(t *testing.T, td kadm.TopicDetail, n int) {
	t.Helper()
	if td.Err != nil {
		t.Fatalf("topic %s: %v", td.Topic, td.Err)
	}
	if len(td.Partitions) != n {
		t.Fatalf("topic %s has %d partitions, want %d", td.Topic, len(td.Partitions), n)
	}
	for p := int32(0); p < int32(n); p++ {
		pd, ok := td.Partitions[p]
		if !ok || pd.Err != nil || pd.Leader != 1 || !slices.Equal(pd.Replicas, []int32{1}) || !slices.Equal(pd.ISR, []int32{1}) {
			t.Fatalf("topic %s partition %d: %+v (present %v); want leader 1, replicas and ISR [1]", td.Topic, p, pd, ok)
		}
	}
}

// CreateTopics (and validate-only), ListTopics, CreatePartitions /
// UpdatePartitions (the new partitions take records), DeleteTopics, re-creation.
func TestAdminTopics(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t, shared)
	ctx := ctxFor(t, 60*time.Second)
	t1, t2, tv := name(t, "one"), name(t, "two"), name(t, "validate")

	v, err := adm.ValidateCreateTopics(ctx, 3, 1, nil, tv)
	if err != nil || v[tv].Err != nil {
		t.Fatalf("ValidateCreateTopics: %v %v", err, v[tv].Err)
	}
	if v[tv].NumPartitions != 3 {
		t.Fatalf("ValidateCreateTopics: %d partitions, want 3", v[tv].NumPartitions)
	}

	created, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, t1, t2)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]kadm.TopicID{}
	for _, topic := range []string{t1, t2} {
		r := created[topic]
		if r.Err != nil || r.NumPartitions != 3 || r.ReplicationFactor != 1 || r.ID == (kadm.TopicID{}) {
			t.Fatalf("CreateTopics %s: %+v", topic, r)
		}
		if c, ok := r.Configs["retention.ms"]; !ok || c.MaybeValue() != "3600000" {
			t.Fatalf("CreateTopics %s: retention.ms in the response is %+v (present %v)", topic, c, ok)
		}
		ids[topic] = r.ID
	}

	all, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{t1, t2} {
		td, ok := all[topic]
		if !ok {
			t.Fatalf("ListTopics does not list %s", topic)
		}
		checkPartitions(t, td, 3)
		if td.ID != ids[topic] || td.IsInternal {
			t.Fatalf("ListTopics %s: id %v internal %v; CreateTopics said id %v", topic, td.ID, td.IsInternal, ids[topic])
		}
	}
	if _, ok := all[tv]; ok {
		t.Fatalf("the validate-only topic %s exists", tv)
	}
	for topic, td := range all {
		if td.IsInternal {
			t.Fatalf("ListTopics (no internal topics) listed internal topic %s", topic)
		}
	}

	// CreatePartitions adds 2, UpdatePartitions sets the total to 6.
	cp, err := adm.CreatePartitions(ctx, 2, t1)
	if err != nil || cp[t1].Err != nil {
		t.Fatalf("CreatePartitions: %v %+v", err, cp[t1])
	}
	listed, err := adm.ListTopics(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	checkPartitions(t, listed[t1], 5)
	up, err := adm.UpdatePartitions(ctx, 6, t1)
	if err != nil || up[t1].Err != nil {
		t.Fatalf("UpdatePartitions: %v %+v", err, up[t1])
	}
	listed, err = adm.ListTopics(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	checkPartitions(t, listed[t1], 6)
	prod := newClient(t, shared, kgo.DefaultProduceTopic(t1), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	rs := produceSync(t, prod,
		&kgo.Record{Partition: 4, Value: []byte("on-4")},
		&kgo.Record{Partition: 5, Value: []byte("on-5")})
	if rs[0].Offset != 0 || rs[1].Offset != 0 {
		t.Fatalf("records on the new partitions at offsets %d, %d; want 0, 0", rs[0].Offset, rs[1].Offset)
	}
	cons := newClient(t, shared, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		t1: {4: kgo.NewOffset().AtStart(), 5: kgo.NewOffset().AtStart()},
	}))
	for _, r := range pollUntil(t, cons, 2, waitTimeout) {
		if string(r.Value) != fmt.Sprintf("on-%d", r.Partition) {
			t.Fatalf("partition %d returned %q", r.Partition, r.Value)
		}
	}

	// DeleteTopics: gone; re-created, it is a new, empty topic.
	produceSync(t, newClient(t, shared, kgo.DefaultProduceTopic(t2)), &kgo.Record{Value: []byte("old")})
	del, err := adm.DeleteTopics(ctx, t2)
	if err != nil || del[t2].Err != nil {
		t.Fatalf("DeleteTopics: %v %+v", err, del[t2])
	}
	waitFor(t, "the deleted topic to disappear", waitTimeout, func() error {
		l, err := adm.ListTopics(ctx, t2)
		if err != nil {
			return err
		}
		if !errors.Is(l[t2].Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("ListTopics(%s): %+v", t2, l[t2])
		}
		return nil
	})
	re, err := adm.CreateTopic(ctx, 1, 1, nil, t2)
	if err != nil {
		t.Fatalf("re-creating %s: %v", t2, err)
	}
	if re.ID == ids[t2] {
		t.Fatalf("the re-created topic has the old topic id %v", re.ID)
	}
	ends, err := adm.ListEndOffsets(ctx, t2)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup(t2, 0); o.Err != nil || o.Offset != 0 {
		t.Fatalf("re-created topic: end offset %d (%v), want 0", o.Offset, o.Err)
	}
	if l, _ := ends.Lookup(t2, 1); l.Partition == 1 {
		t.Fatalf("re-created topic still has partition 1")
	}
}

func configMap(t *testing.T, adm *kadm.Client, topic string) map[string]kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctxFor(t, 30*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("DescribeTopicConfigs(%s): %v %v", topic, err, rc.Err)
	}
	m := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		m[c.Key] = c
	}
	return m
}

func wantConfig(t *testing.T, cs map[string]kadm.Config, key, value string, source kmsg.ConfigSource) {
	t.Helper()
	c, ok := cs[key]
	if !ok {
		t.Fatalf("config %s not described", key)
	}
	if c.MaybeValue() != value || c.Source != source {
		t.Fatalf("config %s = %q (source %v), want %q (source %v)", key, c.MaybeValue(), c.Source, value, source)
	}
}

// DescribeTopicConfigs (values, sources, synonyms), incremental AlterTopicConfigs
// (SET, DELETE, APPEND, SUBTRACT, validate-only), the non-incremental
// AlterTopicConfigsState, and the broker's own configs.
func TestAdminConfigs(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t, shared)
	ctx := ctxFor(t, 60*time.Second)
	topic := createTopic(t, adm, 1, map[string]*string{
		"cleanup.policy": kadm.StringPtr("compact"),
		"retention.ms":   kadm.StringPtr("3600000"),
	})
	const (
		dynamic = kmsg.ConfigSourceDynamicTopicConfig
		deflt   = kmsg.ConfigSourceDefaultConfig
	)

	cs := configMap(t, adm, topic)
	for _, key := range []string{
		"cleanup.policy", "compression.type", "delete.retention.ms", "max.message.bytes",
		"message.timestamp.type", "min.compaction.lag.ms", "min.insync.replicas",
		"retention.bytes", "retention.ms", "segment.bytes", "segment.ms",
	} {
		if _, ok := cs[key]; !ok {
			t.Errorf("DescribeTopicConfigs does not return %s", key)
		}
	}
	wantConfig(t, cs, "cleanup.policy", "compact", dynamic)
	wantConfig(t, cs, "retention.ms", "3600000", dynamic)
	wantConfig(t, cs, "max.message.bytes", "1048588", deflt)
	wantConfig(t, cs, "compression.type", "producer", deflt)
	wantConfig(t, cs, "segment.bytes", "1073741824", deflt)
	if syn := cs["retention.ms"].Synonyms; len(syn) == 0 || syn[0].Key != "retention.ms" || syn[0].Source != dynamic {
		t.Errorf("retention.ms synonyms %+v: the first should be the topic's own override", syn)
	}

	alter := func(configs ...kadm.AlterConfig) {
		t.Helper()
		resp, err := adm.AlterTopicConfigs(ctx, configs, topic)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := resp.On(topic, nil); err != nil || r.Err != nil {
			t.Fatalf("AlterTopicConfigs %+v: %v %v %s", configs, err, r.Err, r.ErrMessage)
		}
	}
	alter(
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7200000")},
		kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "cleanup.policy"},
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("200000")},
	)
	cs = configMap(t, adm, topic)
	wantConfig(t, cs, "retention.ms", "7200000", dynamic)
	wantConfig(t, cs, "cleanup.policy", "delete", deflt)
	wantConfig(t, cs, "max.message.bytes", "200000", dynamic)

	// APPEND to / SUBTRACT from a list config, starting from its default.
	alter(kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")})
	wantConfig(t, configMap(t, adm, topic), "cleanup.policy", "delete,compact", dynamic)
	alter(kadm.AlterConfig{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: kadm.StringPtr("delete")})
	wantConfig(t, configMap(t, adm, topic), "cleanup.policy", "compact", dynamic)

	// Validate-only changes nothing.
	vr, err := adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1000")}}, topic)
	if r, onErr := vr.On(topic, nil); err != nil || onErr != nil || r.Err != nil {
		t.Fatalf("ValidateAlterTopicConfigs: %v %+v", err, vr)
	}
	wantConfig(t, configMap(t, adm, topic), "retention.ms", "7200000", dynamic)

	// Non-incremental AlterConfigs replaces the whole set of overrides.
	sr, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("5000000")}}, topic)
	if r, onErr := sr.On(topic, nil); err != nil || onErr != nil || r.Err != nil {
		t.Fatalf("AlterTopicConfigsState: %v %+v", err, sr)
	}
	cs = configMap(t, adm, topic)
	wantConfig(t, cs, "retention.ms", "5000000", dynamic)
	wantConfig(t, cs, "cleanup.policy", "delete", deflt)
	wantConfig(t, cs, "max.message.bytes", "1048588", deflt)

	// The broker's own configs: from server.properties, static.
	brcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	brc, err := brcs.On("1", nil)
	if err != nil || brc.Err != nil {
		t.Fatalf("DescribeBrokerConfigs(1): %v %v", err, brc.Err)
	}
	bcs := map[string]kadm.Config{}
	for _, c := range brc.Configs {
		bcs[c.Key] = c
	}
	wantConfig(t, bcs, "node.id", "1", kmsg.ConfigSourceStaticBrokerConfig)
	wantConfig(t, bcs, "log.dirs", filepath.Join(shared.dir, "data"), kmsg.ConfigSourceStaticBrokerConfig)
}

// DeleteRecords, ListStartOffsets / ListEndOffsets / ListOffsetsAfterMilli around
// a moved log start, and describing the cluster.
func TestAdminRecordsAndCluster(t *testing.T) {
	t.Parallel()
	adm, topic, base := seedConsumeTopic(t)
	ctx := ctxFor(t, 60*time.Second)
	offsetsAre := func(what string, l kadm.ListedOffsets, err error, want map[int32]int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for p, w := range want {
			o, ok := l.Lookup(topic, p)
			if !ok || o.Err != nil || o.Offset != w {
				t.Fatalf("%s[%d] = %d (%v, present %v), want %d", what, p, o.Offset, o.Err, ok, w)
			}
		}
	}
	s, err := adm.ListStartOffsets(ctx, topic)
	offsetsAre("ListStartOffsets", s, err, map[int32]int64{0: 0, 1: 0, 2: 0})
	e, err := adm.ListEndOffsets(ctx, topic)
	offsetsAre("ListEndOffsets", e, err, map[int32]int64{0: 10, 1: 10, 2: 10})
	// The record with the largest timestamp (ListOffsets -3, KIP-734) and its timestamp.
	mt, err := adm.ListMaxTimestampOffsets(ctx, topic)
	offsetsAre("ListMaxTimestampOffsets", mt, err, map[int32]int64{0: 9, 1: 9, 2: 9})
	if o, _ := mt.Lookup(topic, 0); o.Timestamp != base+9*consumeTimeStep {
		t.Fatalf("ListMaxTimestampOffsets: timestamp %d, want %d", o.Timestamp, base+9*consumeTimeStep)
	}

	dr, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {
		0: {Topic: topic, Partition: 0, At: 4},
		1: {Topic: topic, Partition: 1, At: -1}, // -1: up to the high watermark
	}})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 4, 1: 10} {
		r, ok := dr.Lookup(topic, p)
		if !ok || r.Err != nil || r.LowWatermark != want {
			t.Fatalf("DeleteRecords[%d]: %+v (present %v), want low watermark %d", p, r, ok, want)
		}
	}
	s, err = adm.ListStartOffsets(ctx, topic)
	offsetsAre("ListStartOffsets after DeleteRecords", s, err, map[int32]int64{0: 4, 1: 10, 2: 0})
	e, err = adm.ListEndOffsets(ctx, topic)
	offsetsAre("ListEndOffsets after DeleteRecords", e, err, map[int32]int64{0: 10, 1: 10, 2: 10})
	// The first offset at or after a timestamp never lies below the log start.
	a, err := adm.ListOffsetsAfterMilli(ctx, base+2*consumeTimeStep, topic)
	offsetsAre("ListOffsetsAfterMilli after DeleteRecords", a, err, map[int32]int64{0: 4, 1: 10, 2: 2})

	cons := newClient(t, shared, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := pollUntil(t, cons, 6+10, waitTimeout)
	got = append(got, pollFor(t, cons, 500*time.Millisecond)...)
	checkRecords(t, got, base, map[int32]int64{0: 4, 2: 0})
	// Fetching below the new log start (OFFSET_OUT_OF_RANGE) resumes at the log start.
	below := newClient(t, shared, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(1)}}))
	got = pollUntil(t, below, 6, waitTimeout)
	got = append(got, pollFor(t, below, 500*time.Millisecond)...)
	checkRecords(t, got, base, map[int32]int64{0: 4})

	// Describe the cluster: one broker, node 1 at the listener address, the
	// controller, and the cluster id of meta.properties.
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(shared.addr)
	if md.Cluster != shared.clusterID(t) || md.Controller != 1 || len(md.Brokers) != 1 {
		t.Fatalf("BrokerMetadata: cluster %q controller %d brokers %+v; want cluster %q controller 1, one broker",
			md.Cluster, md.Controller, md.Brokers, shared.clusterID(t))
	}
	if b := md.Brokers[0]; b.NodeID != 1 || b.Host != host || strconv.Itoa(int(b.Port)) != port {
		t.Fatalf("broker %+v, want node 1 at %s", b, shared.addr)
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || !slices.Equal(brokers.NodeIDs(), []int32{1}) {
		t.Fatalf("ListBrokers: %v %v", brokers, err)
	}
}

// ListGroups, DescribeGroups, FetchOffsets, CommitOffsets (a new member starts
// there), DeleteOffsets, DeleteGroups.
func TestAdminGroups(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t, shared)
	ctx := ctxFor(t, 90*time.Second)
	topic := createTopic(t, adm, 2, nil)
	group := name(t, "group")
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 5 {
		produceSync(t, prod,
			&kgo.Record{Partition: 0, Value: fmt.Appendf(nil, "p0-%d", i)},
			&kgo.Record{Partition: 1, Value: fmt.Appendf(nil, "p1-%d", i)})
	}

	memberOpts := []kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ClientID("strom-go-admin-groups"),
	}
	m1 := newClient(t, shared, memberOpts...)
	pollUntil(t, m1, 10, waitTimeout)
	if err := m1.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}

	waitFor(t, "the group to be listed as Stable", waitTimeout, func() error {
		lg, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		g, ok := lg[group]
		if !ok || g.ProtocolType != "consumer" || g.State != "Stable" || g.Coordinator != 1 {
			return fmt.Errorf("ListGroups: %+v (present %v)", g, ok)
		}
		return nil
	})
	if empty, err := adm.ListGroups(ctx, "Empty"); err != nil || slices.Contains(empty.Groups(), group) {
		t.Fatalf("ListGroups(Empty) lists the stable group (%v)", err)
	}
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	g := dg[group]
	memberID, _ := m1.GroupMetadata()
	if g.Err != nil || g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != "cooperative-sticky" || len(g.Members) != 1 {
		t.Fatalf("DescribeGroups: %+v", g)
	}
	dm := g.Members[0]
	if dm.MemberID != memberID || dm.ClientID != "strom-go-admin-groups" || dm.ClientHost == "" {
		t.Fatalf("member %+v, want id %s client id strom-go-admin-groups and a host", dm, memberID)
	}
	if join, ok := dm.Join.AsConsumer(); !ok || !slices.Equal(join.Topics, []string{topic}) {
		t.Fatalf("member's join metadata %+v does not decode or subscribe to %s", join, topic)
	}
	if as := g.AssignedPartitions(); !as.Lookup(topic, 0) || !as.Lookup(topic, 1) {
		t.Fatalf("assigned partitions %v, want %s 0 and 1", as, topic)
	}

	fo, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		if o, ok := fo.Lookup(topic, p); !ok || o.Err != nil || o.At != 5 {
			t.Fatalf("FetchOffsets[%d] = %+v (present %v), want 5", p, o, ok)
		}
	}
	internal, err := adm.ListTopicsWithInternal(ctx, "__consumer_offsets")
	if err != nil || !internal["__consumer_offsets"].IsInternal || len(internal["__consumer_offsets"].Partitions) != 50 {
		t.Fatalf("__consumer_offsets: %+v %v; want internal with 50 partitions", internal["__consumer_offsets"], err)
	}

	m1.Close() // leaves the group: Empty at once, as on Kafka
	if dg, err := adm.DescribeGroups(ctx, group); err != nil {
		t.Fatal(err)
	} else if g := dg[group]; g.State != "Empty" || len(g.Members) != 0 {
		t.Fatalf("after the last member's Close: state %s, %d members; want Empty, none", g.State, len(g.Members))
	}

	// An admin commit, with metadata, moves partition 0 back to offset 2.
	cr, err := adm.CommitOffsets(ctx, group, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 2, LeaderEpoch: -1, Metadata: "rewind"}}})
	if err != nil || cr.Error() != nil {
		t.Fatalf("CommitOffsets: %v %v", err, cr.Error())
	}
	fo, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fo.Lookup(topic, 0); o.At != 2 || o.Metadata != "rewind" {
		t.Fatalf("FetchOffsets[0] after CommitOffsets: %+v, want 2 with metadata \"rewind\"", o)
	}
	if o, _ := fo.Lookup(topic, 1); o.At != 5 {
		t.Fatalf("FetchOffsets[1] after CommitOffsets: %+v, want 5", o)
	}
	m2 := newClient(t, shared, memberOpts...)
	got := pollUntil(t, m2, 3, waitTimeout)
	got = append(got, pollFor(t, m2, time.Second)...)
	if len(got) != 3 || got[0].Partition != 0 || got[0].Offset != 2 || string(got[0].Value) != "p0-2" || got[2].Offset != 4 {
		t.Fatalf("a new member after CommitOffsets(p0=2) got %d records, first %d@%d; want p0 offsets 2..4", len(got), got[0].Partition, got[0].Offset)
	}
	m2.Close()
	if dg, err := adm.DescribeGroups(ctx, group); err != nil {
		t.Fatal(err)
	} else if g := dg[group]; g.State != "Empty" {
		t.Fatalf("after m2's Close: state %s, want Empty", g.State)
	}

	// DeleteOffsets for partition 1 of the (empty) group.
	do, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topic: {1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := do.Lookup(topic, 1); !ok || e != nil {
		t.Fatalf("DeleteOffsets[1]: %v (present %v)", e, ok)
	}
	fo, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fo.Lookup(topic, 1); ok && o.At >= 0 {
		t.Fatalf("FetchOffsets[1] after DeleteOffsets: %+v", o)
	}
	if o, _ := fo.Lookup(topic, 0); o.At != 2 {
		t.Fatalf("FetchOffsets[0] after DeleteOffsets of partition 1: %+v, want 2", o)
	}

	dr, err := adm.DeleteGroups(ctx, group)
	if err != nil || dr[group].Err != nil {
		t.Fatalf("DeleteGroups: %v %+v", err, dr[group])
	}
	lg, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lg[group]; ok {
		t.Fatalf("ListGroups still lists deleted group %s", group)
	}
	fo, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fo[topic]); n != 0 {
		t.Fatalf("a deleted group still has %d committed offsets: %+v", n, fo[topic])
	}
}
