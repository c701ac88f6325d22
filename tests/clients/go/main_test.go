// Package strom_test drives a real strom-broker with franz-go (kgo, kadm).
//
// TestMain starts one broker for the package; tests that need other broker
// properties start their own with startBroker. Every test uses its own topics
// and groups (see names), so tests run in parallel against the shared broker.
package strom_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	brokerReadyTimeout = 60 * time.Second
	brokerStopTimeout  = 30 * time.Second
	// How long a test waits for a condition (a rebalance, records to arrive):
	// generous, the machine is shared with other builds.
	waitTimeout = 60 * time.Second
)

// shared is the broker every test uses unless it needs different properties.
var shared *broker

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	b, err := startBroker(map[string]string{"num.partitions": "1"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start strom-broker: %v\n", err)
		return 1
	}
	shared = b
	code := m.Run()
	if err := b.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "strom-broker did not stop cleanly: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- shared strom-broker stderr (tail) ---\n%s\n", b.stderrTail(8000))
	}
	return code
}

// --- the broker process ----------------------------------------------------------

type broker struct {
	addr   string
	dir    string // temp dir: server.properties and data/
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	waitEr error
	mu     sync.Mutex
	stderr bytes.Buffer // everything the broker wrote to stderr (its logs)
}

func brokerBinary() (string, error) {
	if p := os.Getenv("STROM_BROKER_BIN"); p != "" {
		return filepath.Abs(p)
	}
	// go test runs in the package directory: tests/clients/go.
	return filepath.Abs(filepath.Join("..", "..", "..", "target", "debug", "strom-broker"))
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// startBroker writes a server.properties (loopback listener on port 0, a fresh
// log dir, no initial rebalance delay, plus props) and starts strom-broker with
// it, returning once it printed "listening on HOST:PORT".
func startBroker(props map[string]string) (*broker, error) {
	bin, err := brokerBinary()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no broker binary (build it with `cargo build -p strom-broker` or set STROM_BROKER_BIN): %w", err)
	}
	dir, err := os.MkdirTemp("", "strom-go-")
	if err != nil {
		return nil, err
	}
	all := map[string]string{
		"node.id":                          "1",
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         filepath.Join(dir, "data"),
		"group.initial.rebalance.delay.ms": "0",
	}
	for k, v := range props {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s=%s\n", k, all[k])
	}
	propsFile := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(propsFile, []byte(sb.String()), 0o644); err != nil {
		return nil, err
	}

	b := &broker{dir: dir, done: make(chan struct{})}
	b.cmd = exec.Command(bin, propsFile)
	b.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	// If the test process dies (a panic, go test's -timeout), the broker gets SIGTERM too.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	b.cmd.Stderr = lockedWriter{&b.mu, &b.stderr}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := b.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addrCh := make(chan string, 1)
	go func() {
		// Keep draining stdout for the broker's whole life.
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addrCh <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		b.waitEr = b.cmd.Wait()
		close(b.done)
	}()
	select {
	case b.addr = <-addrCh:
		return b, nil
	case <-b.done:
		err = fmt.Errorf("strom-broker exited before listening (%v); stderr:\n%s", b.waitEr, b.stderrTail(4000))
	case <-time.After(brokerReadyTimeout):
		_ = b.cmd.Process.Kill()
		<-b.done
		err = fmt.Errorf("strom-broker did not print `listening on` within %s; stderr:\n%s", brokerReadyTimeout, b.stderrTail(4000))
	}
	os.RemoveAll(dir)
	return nil, err
}

// stop sends SIGTERM and requires a clean exit (status 0) within brokerStopTimeout.
func (b *broker) stop() error {
	defer os.RemoveAll(b.dir)
	select {
	case <-b.done:
		return fmt.Errorf("strom-broker had already exited: %v", b.waitEr)
	default:
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-b.done:
		return b.waitEr
	case <-time.After(brokerStopTimeout):
		_ = b.cmd.Process.Kill()
		<-b.done
		return fmt.Errorf("strom-broker did not exit within %s of SIGTERM", brokerStopTimeout)
	}
}

func (b *broker) stderrTail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stderr.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// clusterID is the cluster.id the broker wrote to <log.dir>/meta.properties.
func (b *broker) clusterID(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, "data", "meta.properties"))
	if err != nil {
		t.Fatalf("reading meta.properties: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster.id="); ok {
			return v
		}
	}
	t.Fatalf("no cluster.id in meta.properties:\n%s", data)
	return ""
}

// startTestBroker starts a broker of the test's own, stopped (and required to
// stop cleanly) when the test ends.
func startTestBroker(t *testing.T, props map[string]string) *broker {
	t.Helper()
	b, err := startBroker(props)
	if err != nil {
		t.Fatalf("starting strom-broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.stop(); err != nil {
			t.Errorf("strom-broker did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("strom-broker stderr (tail):\n%s", b.stderrTail(6000))
		}
	})
	return b
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// --- clients ----------------------------------------------------------------------

// clientLog keeps a test's franz-go logs in memory; they are printed only when
// the test fails.
type clientLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *clientLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() > 4<<20 { // bound the memory a chatty test can use
		c.buf.Reset()
		c.buf.WriteString("(earlier log lines dropped)\n")
	}
	return c.buf.Write(p)
}

var testLogs sync.Map // *testing.T -> *clientLog

func logFor(t *testing.T) *clientLog {
	if l, ok := testLogs.Load(t); ok {
		return l.(*clientLog)
	}
	l := &clientLog{}
	testLogs.Store(t, l)
	t.Cleanup(func() {
		testLogs.Delete(t)
		if t.Failed() {
			l.mu.Lock()
			s := l.buf.String()
			l.mu.Unlock()
			if len(s) > 20000 {
				s = "..." + s[len(s)-20000:]
			}
			t.Logf("franz-go log (tail):\n%s", s)
		}
	})
	return l
}

// newClient returns a kgo client for the broker at addr, closed when the test ends.
func newClient(t *testing.T, b *broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.SeedBrokers(b.addr),
		kgo.WithLogger(kgo.BasicLogger(logFor(t), kgo.LogLevelInfo, nil)),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newAdmin(t *testing.T, b *broker) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClient(t, b))
}

// --- names, topics, waiting ---------------------------------------------------------

var nameSeq atomic.Int64

var notNameChar = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// name returns a topic or group name unique to this test run.
func name(t *testing.T, what string) string {
	base := notNameChar.ReplaceAllString(t.Name(), "-")
	if len(base) > 120 {
		base = base[:120]
	}
	return fmt.Sprintf("go-%s-%s-%d", base, what, nameSeq.Add(1))
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates a topic with the given partitions (replication 1) and configs.
func createTopic(t *testing.T, adm *kadm.Client, partitions int32, configs map[string]*string) string {
	t.Helper()
	topic := name(t, "topic")
	resp, err := adm.CreateTopic(ctxFor(t, 30*time.Second), partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("creating topic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
	return topic
}

// waitFor polls cond until it returns nil or the deadline passes; then it fails
// the test with cond's last error.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pollUntil polls cl until want records arrived (or the timeout passed) and
// returns them in arrival order. Fetch errors fail the test.
func pollUntil(t *testing.T, cl *kgo.Client, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	var got []*kgo.Record
	deadline := time.Now().Add(timeout)
	for len(got) < want {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("got %d of %d records within %s", len(got), want, timeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), min(left, 2*time.Second))
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch error on %s[%d]: %v", topic, p, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	return got
}

// pollFor polls cl for d and returns whatever arrived.
func pollFor(t *testing.T, cl *kgo.Client, d time.Duration) []*kgo.Record {
	t.Helper()
	var got []*kgo.Record
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch error on %s[%d]: %v", topic, p, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	return got
}

// produceSync produces records and fails the test on any error.
func produceSync(t *testing.T, cl *kgo.Client, rs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	results := cl.ProduceSync(ctxFor(t, 60*time.Second), rs...)
	if err := results.FirstErr(); err != nil {
		t.Fatalf("producing %d records: %v", len(rs), err)
	}
	return rs
}

// byPartition groups records by partition, keeping their order.
func byPartition(rs []*kgo.Record) map[int32][]*kgo.Record {
	m := make(map[int32][]*kgo.Record)
	for _, r := range rs {
		m[r.Partition] = append(m[r.Partition], r)
	}
	return m
}

// checkDense fails unless each partition's records have offsets from..from+n-1 in order.
func checkDense(t *testing.T, rs []*kgo.Record, from map[int32]int64) {
	t.Helper()
	for p, prs := range byPartition(rs) {
		next := from[p]
		for _, r := range prs {
			if r.Offset != next {
				t.Fatalf("partition %d: offset %d where %d was expected (offsets must be dense and in order)", p, r.Offset, next)
			}
			next++
		}
	}
}

// --- Kafka's murmur2, written here independently of franz-go ------------------------

// murmur2 is Kafka's Utils.murmur2 (the Java client's default partitioner hash).
func murmur2(data []byte) int32 {
	const (
		seed = uint32(0x9747b28c)
		m    = uint32(0x5bd1e995)
		r    = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// kafkaPartition is where Kafka's default partitioner puts a keyed record.
func kafkaPartition(key []byte, partitions int) int32 {
	return int32((murmur2(key) & 0x7fffffff) % int32(partitions))
}
