package strom_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const groupPartitions = 6

// member is one consumer-group member polling in its own goroutine. It commits
// what each poll returned before it allows a rebalance (BlockRebalanceOnPoll),
// so no record may ever be delivered twice.
type member struct {
	t    *testing.T
	name string
	cl   *kgo.Client
	coll *collector

	mu       sync.Mutex
	owned    map[int32]bool
	revokes  [][]int32 // each non-empty OnPartitionsRevoked/Lost, in order
	assigns  [][]int32
	errs     []error // fetch and commit errors
	commits  int
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// collector is what all members of a group consumed.
type collector struct {
	mu    sync.Mutex
	by    map[string][]string // value -> members that got it
	where map[string]int32    // value -> partition
}

func newCollector() *collector {
	return &collector{by: map[string][]string{}, where: map[string]int32{}}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.by)
}

type commitMode int

const (
	commitRecords     commitMode = iota // CommitRecords(the polled records)
	commitUncommitted                   // CommitUncommittedOffsets
)

func startMember(t *testing.T, name, group, topic string, bal kgo.GroupBalancer, mode commitMode, coll *collector, extra ...kgo.Opt) *member {
	t.Helper()
	m := &member{t: t, name: name, coll: coll, owned: map[int32]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	partsOf := func(ps map[string][]int32) []int32 {
		s := slices.Clone(ps[topic])
		slices.Sort(s)
		return s
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(shared.addr),
		kgo.WithLogger(kgo.BasicLogger(logFor(t), kgo.LogLevelInfo, func() string { return name + ": " })),
		kgo.ClientID("strom-go-" + name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(bal),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.SessionTimeout(20 * time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			got := partsOf(ps)
			m.assigns = append(m.assigns, got)
			for _, p := range got {
				m.owned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if got := partsOf(ps); len(got) > 0 {
				m.revokes = append(m.revokes, got)
				for _, p := range got {
					delete(m.owned, p)
				}
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.errs = append(m.errs, fmt.Errorf("partitions lost: %v", ps))
			for _, p := range partsOf(ps) {
				delete(m.owned, p)
			}
		}),
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	t.Cleanup(m.leave)
	go m.run(mode)
	return m
}

func (m *member) run(mode commitMode) {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := m.cl.PollFetches(ctx)
		cancel()
		if fs.IsClientClosed() {
			return
		}
		var errs []error
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, fmt.Errorf("fetch %s[%d]: %w", topic, p, err))
			}
		})
		recs := fs.Records()
		if len(recs) > 0 {
			m.coll.mu.Lock()
			for _, r := range recs {
				v := string(r.Value)
				m.coll.by[v] = append(m.coll.by[v], m.name)
				m.coll.where[v] = r.Partition
			}
			m.coll.mu.Unlock()
			cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
			var err error
			switch mode {
			case commitRecords:
				err = m.cl.CommitRecords(cctx, recs...)
			case commitUncommitted:
				err = m.cl.CommitUncommittedOffsets(cctx)
			}
			ccancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("commit: %w", err))
			}
		}
		m.mu.Lock()
		m.errs = append(m.errs, errs...)
		if len(recs) > 0 {
			m.commits++
		}
		m.mu.Unlock()
		m.cl.AllowRebalance()
	}
}

// leave stops polling and closes the client, which leaves the group.
func (m *member) leave() {
	m.stopOnce.Do(func() {
		close(m.stop)
		<-m.done
		m.cl.CloseAllowingRebalance()
	})
}

func (m *member) snapshot() (owned []int32, revokes [][]int32, errs []error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	owned = slices.Sorted(maps.Keys(m.owned))
	return owned, slices.Clone(m.revokes), slices.Clone(m.errs)
}

func (m *member) clearRevokes() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revokes = nil
}

// waitStable waits until the group is Stable with exactly these members, each
// member's own assignment (from its callbacks) equals what DescribeGroups says
// the leader gave it, the assignments are disjoint and cover the topic, and
// check (if any) accepts the assignment.
func waitStable(t *testing.T, adm *kadm.Client, group, topic, protocol string, members []*member, check func(map[*member][]int32) error) map[*member][]int32 {
	t.Helper()
	var result map[*member][]int32
	waitFor(t, fmt.Sprintf("group %s to be stable with %d members", group, len(members)), waitTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		described, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		g := described[group]
		if g.Err != nil {
			return g.Err
		}
		if g.State != "Stable" || len(g.Members) != len(members) {
			return fmt.Errorf("state %s with %d members", g.State, len(g.Members))
		}
		if g.ProtocolType != "consumer" || g.Protocol != protocol {
			return fmt.Errorf("protocol type %q protocol %q, want consumer/%s", g.ProtocolType, g.Protocol, protocol)
		}
		assigned := map[string][]int32{}
		for _, dm := range g.Members {
			c, ok := dm.Assigned.AsConsumer()
			if !ok {
				return fmt.Errorf("member %s: assignment does not decode as a consumer assignment", dm.MemberID)
			}
			var ps []int32
			for _, tp := range c.Topics {
				if tp.Topic != topic {
					return fmt.Errorf("member %s assigned topic %s", dm.MemberID, tp.Topic)
				}
				ps = append(ps, tp.Partitions...)
			}
			slices.Sort(ps)
			assigned[dm.MemberID] = ps
		}
		result = map[*member][]int32{}
		seen := map[int32]string{}
		for _, m := range members {
			id, _ := m.cl.GroupMetadata()
			want, ok := assigned[id]
			if !ok {
				return fmt.Errorf("%s (member id %q) is not in the described group", m.name, id)
			}
			owned, _, _ := m.snapshot()
			if !slices.Equal(owned, want) {
				return fmt.Errorf("%s owns %v, the group assigned it %v", m.name, owned, want)
			}
			for _, p := range owned {
				if other, dup := seen[p]; dup {
					return fmt.Errorf("partition %d assigned to %s and %s", p, other, m.name)
				}
				seen[p] = m.name
			}
			result[m] = owned
		}
		if len(seen) != groupPartitions {
			return fmt.Errorf("assignment covers %d of %d partitions", len(seen), groupPartitions)
		}
		if check != nil {
			return check(result)
		}
		return nil
	})
	return result
}

// produceBatch writes perPartition records to every partition, values "<tag>-p<P>-<i>".
func produceBatch(t *testing.T, topic, tag string, perPartition int) {
	t.Helper()
	prod := newClient(t, shared, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for i := range perPartition {
		for p := int32(0); p < groupPartitions; p++ {
			rs = append(rs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%s-p%d-%d", tag, p, i)})
		}
	}
	produceSync(t, prod, rs...)
}

// waitConsumedAndCommitted waits until the group consumed total distinct records
// and its committed offsets (kadm FetchOffsets) equal the end offsets (kadm ListEndOffsets).
func waitConsumedAndCommitted(t *testing.T, adm *kadm.Client, group, topic string, coll *collector, total int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d records consumed and committed", total), waitTimeout, func() error {
		if n := coll.count(); n != total {
			return fmt.Errorf("%d distinct records consumed", n)
		}
		return committedAtEnd(adm, group, topic)
	})
}

func committedAtEnd(adm *kadm.Client, group, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return err
	}
	for p := int32(0); p < groupPartitions; p++ {
		end, _ := ends.Lookup(topic, p)
		c, ok := committed.Lookup(topic, p)
		if !ok || c.Err != nil || end.Err != nil || c.At != end.Offset {
			return fmt.Errorf("partition %d: committed %d (%v, present %v), end offset %d (%v)", p, c.At, c.Err, ok, end.Offset, end.Err)
		}
	}
	return nil
}

// checkExactlyOnce: every record consumed exactly once, nothing else, no member errors.
func checkExactlyOnce(t *testing.T, coll *collector, tags []string, perPartition int, members ...*member) {
	t.Helper()
	coll.mu.Lock()
	defer coll.mu.Unlock()
	want := len(tags) * perPartition * groupPartitions
	if len(coll.by) != want {
		t.Errorf("%d distinct records consumed, want %d", len(coll.by), want)
	}
	for _, tag := range tags {
		for p := range groupPartitions {
			for i := range perPartition {
				v := fmt.Sprintf("%s-p%d-%d", tag, p, i)
				if got := coll.by[v]; len(got) != 1 {
					t.Errorf("%s consumed %d times (by %v), want once", v, len(got), got)
				}
			}
		}
	}
	for _, m := range members {
		if _, _, errs := m.snapshot(); len(errs) > 0 {
			t.Errorf("%s: errors: %v", m.name, errs)
		}
	}
}

func contiguous(ps []int32) bool {
	for i := 1; i < len(ps); i++ {
		if ps[i] != ps[i-1]+1 {
			return false
		}
	}
	return true
}

// Eager rebalancing with the range balancer: three members share six partitions
// (two contiguous each), one leaves, the other two take all six (three each)
// after revoking everything; every record is consumed exactly once and the
// commits (CommitRecords) reach the end offsets.
func TestGroupsEagerRange(t *testing.T) {
	t.Parallel()
	const per = 10
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, groupPartitions, nil)
	group := name(t, "group")
	coll := newCollector()
	produceBatch(t, topic, "b1", per)

	bal := kgo.RangeBalancer()
	a := startMember(t, "a", group, topic, bal, commitRecords, coll)
	b := startMember(t, "b", group, topic, bal, commitRecords, coll)
	c := startMember(t, "c", group, topic, bal, commitRecords, coll)
	rangeOf := func(size int) func(map[*member][]int32) error {
		return func(asg map[*member][]int32) error {
			for m, ps := range asg {
				if len(ps) != size || !contiguous(ps) {
					return fmt.Errorf("%s has %v; range gives %d contiguous partitions each", m.name, ps, size)
				}
			}
			return nil
		}
	}
	waitStable(t, adm, group, topic, "range", []*member{a, b, c}, rangeOf(2))
	waitConsumedAndCommitted(t, adm, group, topic, coll, per*groupPartitions)

	before := map[*member][]int32{}
	for _, m := range []*member{a, b} {
		before[m], _, _ = m.snapshot()
		m.clearRevokes()
	}
	cOwned, _, _ := c.snapshot()
	c.leave()
	after := waitStable(t, adm, group, topic, "range", []*member{a, b}, rangeOf(3))
	for _, m := range []*member{a, b} {
		// Eager: each remaining member first gave up everything it had.
		_, revokes, _ := m.snapshot()
		t.Logf("c left: %s had %v, has %v, revoked %v", m.name, before[m], after[m], revokes)
		if len(revokes) == 0 || !slices.Equal(revokes[0], before[m]) {
			t.Fatalf("%s: revocations %v after c left; eager revokes all of %v first", m.name, revokes, before[m])
		}
	}

	produceBatch(t, topic, "b2", per)
	waitConsumedAndCommitted(t, adm, group, topic, coll, 2*per*groupPartitions)
	checkExactlyOnce(t, coll, []string{"b1", "b2"}, per, a, b, c)
	// c's former partitions' new records went to a and b.
	coll.mu.Lock()
	for _, p := range cOwned {
		for i := range per {
			v := fmt.Sprintf("b2-p%d-%d", p, i)
			by := coll.by[v]
			owner := a
			if slices.Contains(after[b], p) {
				owner = b
			}
			if len(by) != 1 || by[0] != owner.name {
				t.Errorf("%s (c's former partition %d) consumed by %v, want %s", v, p, by, owner.name)
			}
		}
	}
	coll.mu.Unlock()

	a.leave()
	b.leave()
	waitFor(t, "the group to be empty with its offsets kept", waitTimeout, func() error {
		described, err := adm.DescribeGroups(ctxFor(t, 10*time.Second), group)
		if err != nil {
			return err
		}
		if g := described[group]; g.State != "Empty" || len(g.Members) != 0 {
			return fmt.Errorf("state %s with %d members", g.State, len(g.Members))
		}
		return committedAtEnd(adm, group, topic)
	})
}

// Cooperative (incremental) rebalancing with cooperative-sticky: a joining member
// takes one partition from each of the others, who keep the rest without a
// revocation of them; when it leaves, the others only gain partitions. Commits
// with CommitUncommittedOffsets; every record consumed exactly once.
func TestCooperativeStickyIncrementalRebalance(t *testing.T) {
	t.Parallel()
	const per = 10
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, groupPartitions, nil)
	group := name(t, "group")
	coll := newCollector()
	produceBatch(t, topic, "b1", per)

	bal := kgo.CooperativeStickyBalancer()
	a := startMember(t, "a", group, topic, bal, commitUncommitted, coll)
	b := startMember(t, "b", group, topic, bal, commitUncommitted, coll)
	sizes := func(size int) func(map[*member][]int32) error {
		return func(asg map[*member][]int32) error {
			for m, ps := range asg {
				if len(ps) != size {
					return fmt.Errorf("%s has %v, want %d partitions", m.name, ps, size)
				}
			}
			return nil
		}
	}
	two := waitStable(t, adm, group, topic, "cooperative-sticky", []*member{a, b}, sizes(3))
	waitConsumedAndCommitted(t, adm, group, topic, coll, per*groupPartitions)

	a.clearRevokes()
	b.clearRevokes()
	c := startMember(t, "c", group, topic, bal, commitUncommitted, coll)
	three := waitStable(t, adm, group, topic, "cooperative-sticky", []*member{a, b, c}, sizes(2))
	var taken []int32
	for _, m := range []*member{a, b} {
		_, revokes, _ := m.snapshot()
		t.Logf("c joined: %s had %v, has %v, revoked %v", m.name, two[m], three[m], revokes)
		var revoked []int32
		for _, r := range revokes {
			revoked = append(revoked, r...)
		}
		sort.Slice(revoked, func(i, j int) bool { return revoked[i] < revoked[j] })
		lost := slices.DeleteFunc(slices.Clone(two[m]), func(p int32) bool { return slices.Contains(three[m], p) })
		for _, p := range three[m] {
			if !slices.Contains(two[m], p) {
				t.Fatalf("%s gained partition %d when c joined (had %v, has %v): not sticky", m.name, p, two[m], three[m])
			}
		}
		if len(lost) != 1 || !slices.Equal(revoked, lost) {
			t.Fatalf("%s had %v, has %v, was revoked %v: cooperative revokes only the partition that moves", m.name, two[m], three[m], revokes)
		}
		taken = append(taken, lost...)
	}
	slices.Sort(taken)
	if !slices.Equal(taken, three[c]) {
		t.Fatalf("c got %v, the partitions a and b gave up are %v", three[c], taken)
	}

	produceBatch(t, topic, "b2", per)
	waitConsumedAndCommitted(t, adm, group, topic, coll, 2*per*groupPartitions)

	a.clearRevokes()
	b.clearRevokes()
	c.leave()
	back := waitStable(t, adm, group, topic, "cooperative-sticky", []*member{a, b}, sizes(3))
	for _, m := range []*member{a, b} {
		if _, revokes, _ := m.snapshot(); len(revokes) != 0 {
			t.Fatalf("%s was revoked %v when c left; it should only gain partitions", m.name, revokes)
		}
		for _, p := range three[m] {
			if !slices.Contains(back[m], p) {
				t.Fatalf("%s lost partition %d when c left (had %v, has %v)", m.name, p, three[m], back[m])
			}
		}
	}

	produceBatch(t, topic, "b3", per)
	waitConsumedAndCommitted(t, adm, group, topic, coll, 3*per*groupPartitions)
	checkExactlyOnce(t, coll, []string{"b1", "b2", "b3"}, per, a, b, c)
}

// Static membership (KIP-345): a member with a group.instance.id that restarts
// gets its partitions back without a rebalance: same generation, the other
// member keeps its partitions and sees no revocation. Both for a follower and
// for the leader (KIP-814: the leader is told to skip the assignment).
func TestGroupsStaticMembershipRejoin(t *testing.T) {
	t.Parallel()
	const per = 5
	adm := newAdmin(t, shared)
	topic := createTopic(t, adm, groupPartitions, nil)
	group := name(t, "group")
	coll := newCollector()
	produceBatch(t, topic, "b1", per)
	bal := kgo.RangeBalancer()
	static := func(id string) kgo.Opt { return kgo.InstanceID(group + "-" + id) }

	// a joins first and leads the group.
	a := startMember(t, "a", group, topic, bal, commitRecords, coll, static("a"))
	waitStable(t, adm, group, topic, "range", []*member{a}, nil)
	b := startMember(t, "b", group, topic, bal, commitRecords, coll, static("b"))
	asg := waitStable(t, adm, group, topic, "range", []*member{a, b}, nil)
	waitConsumedAndCommitted(t, adm, group, topic, coll, per*groupPartitions)
	_, gen := a.cl.GroupMetadata()

	restart := func(old *member, other *member, tag string) *member {
		t.Helper()
		other.clearRevokes()
		old.leave() // a static member sends no LeaveGroup
		dg, err := adm.DescribeGroups(ctxFor(t, 10*time.Second), group)
		if err != nil {
			t.Fatal(err)
		}
		if g := dg[group]; g.State != "Stable" || len(g.Members) != 2 {
			t.Fatalf("after a static member closed: state %s with %d members; it should stay until its session times out", g.State, len(g.Members))
		}
		nu := startMember(t, old.name+"2", group, topic, bal, commitRecords, coll, static(old.name))
		after := waitStable(t, adm, group, topic, "range", []*member{other, nu}, nil)
		if !slices.Equal(after[nu], asg[old]) || !slices.Equal(after[other], asg[other]) {
			t.Fatalf("%s: after the restart %s has %v (had %v), %s has %v (had %v)", tag, nu.name, after[nu], asg[old], other.name, after[other], asg[other])
		}
		if _, g := nu.cl.GroupMetadata(); g != gen {
			t.Fatalf("%s: the restarted member is in generation %d, the group was in %d: it rebalanced", tag, g, gen)
		}
		if _, g := other.cl.GroupMetadata(); g != gen {
			t.Fatalf("%s: %s moved to generation %d from %d: the group rebalanced", tag, other.name, g, gen)
		}
		if _, revokes, _ := other.snapshot(); len(revokes) != 0 {
			t.Fatalf("%s: %s had partitions revoked %v", tag, other.name, revokes)
		}
		asg[nu] = after[nu]
		return nu
	}
	b2 := restart(b, a, "follower restart")
	produceBatch(t, topic, "b2", per)
	waitConsumedAndCommitted(t, adm, group, topic, coll, 2*per*groupPartitions)
	a2 := restart(a, b2, "leader restart")
	produceBatch(t, topic, "b3", per)
	waitConsumedAndCommitted(t, adm, group, topic, coll, 3*per*groupPartitions)
	checkExactlyOnce(t, coll, []string{"b1", "b2", "b3"}, per, a, b, a2, b2)
}

// afterWrite calls fn with the API key of every request a client has written.
type afterWrite func(key int16)

func (f afterWrite) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err == nil {
		f(key)
	}
}

// When the last member leaves, the group is Empty at once: Kafka completes the
// join phase with no members while handling the LeaveGroup, so a DeleteGroups
// the coordinator handles next succeeds. Each round joins one member (JoinGroup,
// JoinGroup with the MEMBER_ID_REQUIRED id, SyncGroup), then sends LeaveGroup and,
// pipelined right behind it on the same connection (so the broker handles it
// right after the leave), DeleteGroups.
func TestGroupsLastMemberLeavingEmptiesGroup(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t, 120*time.Second)
	var leaveWritten atomic.Pointer[chan struct{}]
	cl := newClient(t, shared, kgo.WithHooks(afterWrite(func(key int16) {
		if key == 13 { // LeaveGroup
			if ch := leaveWritten.Swap(nil); ch != nil {
				close(*ch)
			}
		}
	})))
	for round := range 20 {
		group := name(t, "group")
		join := kmsg.NewPtrJoinGroupRequest()
		join.Group = group
		join.SessionTimeoutMillis = 30000
		join.RebalanceTimeoutMillis = 30000
		join.ProtocolType = "consumer"
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name = "range"
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = []string{"t"}
		proto.Metadata = meta.AppendTo(nil)
		join.Protocols = append(join.Protocols, proto)
		jr, err := join.RequestWith(ctx, cl)
		if err != nil || jr.ErrorCode != kerr.MemberIDRequired.Code {
			t.Fatalf("first JoinGroup: %v, error code %d", err, jr.ErrorCode)
		}
		join.MemberID = jr.MemberID
		if jr, err = join.RequestWith(ctx, cl); err != nil || jr.ErrorCode != 0 {
			t.Fatalf("JoinGroup: %v, error code %d", err, jr.ErrorCode)
		}
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.MemberID, sync.Generation = group, jr.MemberID, jr.Generation
		assignment := kmsg.NewSyncGroupRequestGroupAssignment()
		assignment.MemberID = jr.MemberID
		sync.GroupAssignment = append(sync.GroupAssignment, assignment)
		if sr, err := sync.RequestWith(ctx, cl); err != nil || sr.ErrorCode != 0 {
			t.Fatalf("SyncGroup: %v, error code %d", err, sr.ErrorCode)
		}

		written := make(chan struct{})
		leaveWritten.Store(&written)
		deleted := make(chan error, 1)
		go func() {
			<-written
			del := kmsg.NewPtrDeleteGroupsRequest()
			del.Groups = []string{group}
			resp, err := del.RequestWith(ctx, cl)
			if err == nil {
				err = kerr.ErrorForCode(resp.Groups[0].ErrorCode)
			}
			deleted <- err
		}()
		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.Group = group
		member := kmsg.NewLeaveGroupRequestMember()
		member.MemberID = jr.MemberID
		leave.Members = append(leave.Members, member)
		lr, err := leave.RequestWith(ctx, cl)
		if err != nil || lr.ErrorCode != 0 || lr.Members[0].ErrorCode != 0 {
			t.Fatalf("LeaveGroup: %v %+v", err, lr)
		}
		if err := <-deleted; err != nil {
			t.Fatalf("round %d: DeleteGroups handled right after the last member's LeaveGroup: %v; Kafka: the group is Empty, the delete succeeds", round, err)
		}
	}
}
