package progress

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		requests int
		rate     float64
		waiting  bool
		want     string
	}{
		{0, 0, false, "reading zones: 0 requests, 0.0 req/s"},
		{1234, 0.94, false, "reading zones: 1,234 requests, 0.9 req/s"},
		{1234567, 12.25, true, "reading zones: 1,234,567 requests, 12.2 req/s, waiting on the rate limit"},
	}
	for _, tt := range tests {
		if got := Describe("reading zones", tt.requests, tt.rate, tt.waiting); got != tt.want {
			t.Errorf("Describe(%d, %g, %v) = %q, want %q", tt.requests, tt.rate, tt.waiting, got, tt.want)
		}
	}
}

func TestRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		samples []sample
		want    float64
	}{
		{nil, 0},
		{[]sample{{t0, Counts{Requests: 5}}}, 0},
		{[]sample{{t0, Counts{Requests: 5}}, {t0, Counts{Requests: 9}}}, 0},
		{[]sample{{t0, Counts{}}, {t0.Add(5 * time.Second), Counts{Requests: 10}}, {t0.Add(10 * time.Second), Counts{Requests: 20}}}, 2},
	}
	for _, tt := range tests {
		if got := rate(tt.samples); got != tt.want {
			t.Errorf("rate(%v) = %g, want %g", tt.samples, got, tt.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the ticker and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBar(t *testing.T) {
	var out syncBuffer
	var mu sync.Mutex
	counts := Counts{Waiting: 1}
	b := New(&out, func() Counts { mu.Lock(); defer mu.Unlock(); return counts }, Options{Refresh: 10 * time.Millisecond})
	b.Stage("writing zones", 3)
	mu.Lock()
	counts.Requests = 7
	mu.Unlock()
	time.Sleep(250 * time.Millisecond) // refreshes without a zone done, past the 100 ms throttle
	if got := out.String(); !strings.Contains(got, "(0/3)") || !strings.Contains(got, "writing zones: 7 requests") || !strings.Contains(got, "waiting on the rate limit") {
		t.Errorf("refreshed bar:\n%q", got)
	}
	fmt.Fprintln(b.Writer(), "a log line")
	if got := out.String(); !strings.Contains(got, "\r"+strings.Repeat(" ", 20)) || !strings.HasSuffix(got, "a log line\n") {
		t.Errorf("log line did not clear the bar first:\n%q", got)
	}
	b.ZoneDone("a.example", "p", nil)
	b.ZoneDone("b.example", "p", errors.New("boom"))
	b.ZoneDone("c.example", "p", nil)
	// Done: the bar stops redrawing by itself.
	n := len(out.String())
	time.Sleep(50 * time.Millisecond)
	if len(out.String()) != n {
		t.Errorf("bar drawn after its last zone:\n%q", out.String()[n:])
	}
	b.Finish()
	b.Finish()
	// A stage of nothing draws nothing; ZoneDone without a stage is fine.
	var quiet syncBuffer
	q := New(&quiet, nil, Options{})
	q.Stage("writing zones", 0)
	q.ZoneDone("x", "p", nil)
	q.Finish()
	if quiet.String() != "" {
		t.Errorf("empty stage drew %q", quiet.String())
	}
}

// TestBarNextStage: a new stage closes the one before, still drawn.
func TestBarNextStage(t *testing.T) {
	var out syncBuffer
	b := New(&out, nil, Options{Refresh: 5 * time.Millisecond})
	b.Stage("reading zones", 5)
	b.ZoneDone("a", "p", nil)
	b.Stage("writing zones", 1)
	b.ZoneDone("a", "p", nil)
	b.Finish()
	if got := out.String(); !strings.Contains(got, "reading zones") || !strings.Contains(got, "writing zones") {
		t.Errorf("%q", got)
	}
}

// TestWaitedBetweenLooks: a request that waited and went out between two
// looks still shows as waiting; a look with no new wait does not.
func TestWaitedBetweenLooks(t *testing.T) {
	var mu sync.Mutex
	counts := Counts{}
	b := New(&syncBuffer{}, func() Counts { mu.Lock(); defer mu.Unlock(); return counts }, Options{})
	b.stage = "reading zones"
	look := func() string { b.mu.Lock(); defer b.mu.Unlock(); return b.describe() }
	if got := look(); strings.Contains(got, "waiting") {
		t.Errorf("first look: %q", got)
	}
	mu.Lock()
	counts.Requests, counts.Waited = 3, 800*time.Millisecond
	mu.Unlock()
	if got := look(); !strings.Contains(got, "waiting on the rate limit") {
		t.Errorf("after a wait: %q", got)
	}
	if got := look(); strings.Contains(got, "waiting") {
		t.Errorf("no new wait: %q", got)
	}
}
