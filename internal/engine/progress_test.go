package engine

import (
	"context"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// recorder is a Progress that remembers what it heard.
type recorder struct {
	mu     sync.Mutex
	stages []string
	totals []int
	done   map[string][]string // stage -> zones done
	errs   int
}

func (r *recorder) Stage(name string, zones int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages = append(r.stages, name)
	r.totals = append(r.totals, zones)
}

func (r *recorder) ZoneDone(zone, provider string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stage := r.stages[len(r.stages)-1]
	r.done[stage] = append(r.done[stage], zone+" "+provider)
	if err != nil {
		r.errs++
	}
}

// TestProgressHearsEveryZone: plan announces a stage of every zone and
// reports each one done; apply does the same for the zones it writes.
func TestProgressHearsEveryZone(t *testing.T) {
	t.Parallel()
	const zones = 4
	fake := newFake(t, zones, fakeapi.Options{})
	rec := &recorder{done: map[string][]string{}}
	e, err := New(context.Background(), testConfig(t, zones, "rate_limit: 1000/s\nburst: 1000"), Options{
		Providers: providers.Options{Transport: fake.Transport()},
		Progress:  rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep := e.Apply(context.Background(), run); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	var want []string
	for i := range zones {
		want = append(want, zoneName(i)+" cf")
	}
	if diff := cmp.Diff([]string{StageRead, StageWrite}, rec.stages); diff != "" {
		t.Errorf("stages (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]int{zones, zones}, rec.totals); diff != "" {
		t.Errorf("stage totals (-want +got)\n%s", diff)
	}
	for _, stage := range []string{StageRead, StageWrite} {
		got := rec.done[stage]
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: zones done (-want +got)\n%s", stage, diff)
		}
	}
	if rec.errs != 0 {
		t.Errorf("%d errors on a healthy fake", rec.errs)
	}
}
