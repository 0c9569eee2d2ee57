// Package progress draws a long run's progress on a terminal: for each
// stage, the zones done of the total, the API requests sent, the current
// request rate, whether a provider is waiting on its rate limit, and the
// time left. It draws with github.com/schollz/progressbar and is meant for
// stderr on a terminal only; log lines written through Writer clear the bar
// first, so the two never garble each other.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Counts is the run's API use so far.
type Counts struct {
	Requests int
	// Waiting requests wait for a rate limit right now; Waited is the
	// time all requests spent waiting so far.
	Waiting int
	Waited  time.Duration
}

// Counters reports the run's API use so far.
type Counters func() Counts

// Bar is a progress display; its methods may be called from any goroutine.
type Bar struct {
	w        io.Writer
	counters Counters
	refresh  time.Duration
	window   time.Duration

	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	stage   string
	samples []sample // request totals over the last window, oldest first
	stop    chan struct{}
	stopped chan struct{}
}

type sample struct {
	at time.Time
	Counts
}

// Options tune a Bar; the zero value is fine.
type Options struct {
	// Refresh is how often the request count and rate are redrawn while
	// no zone finishes; default 500 ms.
	Refresh time.Duration
	// Window is the span the current rate is measured over; default 10 s.
	Window time.Duration
}

// New returns a Bar drawing on w (a terminal).
func New(w io.Writer, counters Counters, o Options) *Bar {
	if o.Refresh <= 0 {
		o.Refresh = 500 * time.Millisecond
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if counters == nil {
		counters = func() Counts { return Counts{} }
	}
	return &Bar{w: w, counters: counters, refresh: o.Refresh, window: o.Window}
}

// Stage starts drawing a stage of zones; a stage still drawn is closed.
// A stage of no zones draws nothing.
func (b *Bar) Stage(name string, zones int) {
	b.Finish()
	if zones <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stage = name
	b.samples = nil
	b.bar = progressbar.NewOptions(zones,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(b.describe()),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("zones"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	b.stop, b.stopped = make(chan struct{}), make(chan struct{})
	go b.tick(b.stop, b.stopped)
}

// ZoneDone advances the stage by one zone.
func (b *Bar) ZoneDone(zone, provider string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		return
	}
	b.bar.Describe(b.describe())
	_ = b.bar.Add(1)
	if b.bar.IsFinished() && b.stop != nil {
		// The bar cleared itself; stop redrawing it. Finish, holding no
		// lock the ticker needs, need not wait.
		close(b.stop)
		b.stop, b.stopped = nil, nil
	}
}

// Finish clears the bar of the current stage, if any.
func (b *Bar) Finish() {
	b.mu.Lock()
	stop, stopped := b.stop, b.stopped
	b.stop, b.stopped = nil, nil
	b.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-stopped
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		_ = b.bar.Clear()
		_ = b.bar.Exit()
		b.bar = nil
	}
}

func (b *Bar) tick(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(b.refresh)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.mu.Lock()
			if b.bar != nil {
				b.bar.Describe(b.describe())
			}
			b.mu.Unlock()
		}
	}
}

// describe is the text after the bar: requests, rate, rate-limit waits.
// b.mu is held.
func (b *Bar) describe() string {
	c := b.counters()
	now := time.Now()
	// Waiting now, or since the last look: a request that waited and
	// went out in between was held back all the same.
	waiting := c.Waiting > 0
	if n := len(b.samples); n > 0 && c.Waited > b.samples[n-1].Waited {
		waiting = true
	}
	b.samples = append(b.samples, sample{now, c})
	for len(b.samples) > 2 && now.Sub(b.samples[1].at) >= b.window {
		b.samples = b.samples[1:]
	}
	return Describe(b.stage, c.Requests, rate(b.samples), waiting)
}

// rate is requests per second over the samples.
func rate(s []sample) float64 {
	if len(s) < 2 {
		return 0
	}
	first, last := s[0], s[len(s)-1]
	d := last.at.Sub(first.at).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(last.Requests-first.Requests) / d
}

// Describe renders the text beside the bar, e.g. "reading zones: 1,234
// requests, 0.9 req/s, waiting on the rate limit".
func Describe(stage string, requests int, perSecond float64, waiting bool) string {
	s := fmt.Sprintf("%s: %s requests, %.1f req/s", stage, thousands(requests), perSecond)
	if waiting {
		s += ", waiting on the rate limit"
	}
	return s
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Writer returns a writer for log lines: each write clears the bar first,
// and the next refresh draws it again below the line.
func (b *Bar) Writer() io.Writer { return barWriter{b} }

type barWriter struct{ b *Bar }

func (w barWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	if w.b.bar != nil {
		_ = w.b.bar.Clear()
	}
	return w.b.w.Write(p)
}
