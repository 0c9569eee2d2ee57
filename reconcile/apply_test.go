package reconcile

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memZone is an in-memory zone. It can ignore a CNAME written beside other
// data, as BIND does, and fail a chosen write.
type memZone struct {
	recs         []Record
	ignoreCNAME  bool
	failWrite    int // fail the n-th write (1-based); 0 never
	writes       int
	readFailures int
}

func (z *memZone) Records(context.Context) ([]Record, error) {
	if z.readFailures > 0 {
		z.readFailures--
		return nil, errors.New("read failed")
	}
	return append([]Record(nil), z.recs...), nil
}

func (z *memZone) WriteRRset(_ context.Context, w RRsetWrite) error {
	z.writes++
	if z.writes == z.failWrite {
		return errors.New("HTTP 500")
	}
	var kept []Record
	for _, r := range z.recs {
		if r.Name == w.Name && r.Type == w.Type && contains(w.Have, r) {
			continue
		}
		kept = append(kept, r)
	}
	z.recs = kept
	for _, r := range w.Want {
		if r.Type == "CNAME" && z.ignoreCNAME && z.hasOther(r.Name) {
			continue
		}
		z.recs = append(z.recs, r)
	}
	return nil
}

func (z *memZone) hasOther(name string) bool {
	for _, r := range z.recs {
		if r.Name == name && r.Type != "CNAME" {
			return true
		}
	}
	return false
}

func (z *memZone) lines() []string {
	var out []string
	for _, r := range z.recs {
		out = append(out, r.Name+" "+r.Type+" "+r.Value)
	}
	sort.Strings(out)
	return out
}

func TestApplyConverges(t *testing.T) {
	foreign := []string{"example.org. MX 10 mail.example.com.", "_mta-sts.example.org. TXT owner=postmaster", "www.example.org. A 192.0.2.1"}
	z := &memZone{recs: recs(append(foreign, "_mta-sts.example.org. TXT v=STSv1; id=old", "_smtp._tls.example.org. CNAME _smtp._tls.example.com.")...)}
	domains := []Domain{{Name: "example.org", Zone: "example.org", PolicyID: id}}
	zp := PlanZone(spec(Direct), "example.org", "p", domains, z.recs)
	res := Apply(context.Background(), zp, z)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := append(append([]string{}, foreign...), inSync...)
	sort.Strings(want)
	if diff := cmp.Diff(want, z.lines()); diff != "" {
		t.Errorf("zone after apply (-want +got):\n%s", diff)
	}
	again := PlanZone(spec(Direct), "example.org", "p", domains, z.recs)
	if len(again.Changes) != 0 {
		t.Errorf("rerun plans %v", short(again.Changes))
	}
}

func TestApplyDetectsIgnoredWrite(t *testing.T) {
	z := &memZone{ignoreCNAME: true, recs: recs("_mta-sts.example.org. TXT v=STSv1; id=old", inSync[0], inSync[2])}
	s := spec(Delegated)
	domains := []Domain{{Name: "example.org", Zone: "example.org", PolicyID: id}}
	zp := PlanZone(s, "example.org", "p", domains, z.recs)
	// Make the first TXT delete a no-op so its CNAME lands beside data and is ignored.
	zp.Changes[0].Have = nil
	res := Apply(context.Background(), zp, z)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "_smtp._tls.example.org. CNAME _smtp._tls.example.com. was written but the zone does not show it") {
		t.Fatalf("want an error naming the ignored CNAME, got %v", res.Err)
	}
	if !strings.Contains(res.Err.Error(), "zone example.org (provider p)") {
		t.Errorf("error does not name zone and provider: %v", res.Err)
	}
}

func TestApplyStopsAtFirstFailure(t *testing.T) {
	z := &memZone{failWrite: 2}
	domains := []Domain{{Name: "example.org", Zone: "example.org", PolicyID: id}}
	zp := PlanZone(spec(Direct), "example.org", "p", domains, nil)
	res := Apply(context.Background(), zp, z)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "create _smtp._tls.example.org. TXT: HTTP 500") {
		t.Fatalf("err = %v", res.Err)
	}
	if len(res.Applied) != 1 || len(res.NotApplied) != 2 {
		t.Fatalf("applied %d, not applied %d; want 1 and 2", len(res.Applied), len(res.NotApplied))
	}
	// The id was never published after its policy host's write failed.
	for _, l := range z.lines() {
		if strings.HasPrefix(l, "_mta-sts.") {
			t.Errorf("pointer written after a failure: %s", l)
		}
	}
}

func TestApplyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	z := &memZone{}
	zp := PlanZone(spec(Direct), "example.org", "p", []Domain{{Name: "example.org", PolicyID: id}}, nil)
	res := Apply(ctx, zp, z)
	if z.writes != 0 || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("writes=%d err=%v; want no write and context.Canceled", z.writes, res.Err)
	}
}

func TestApplyReadBackFailure(t *testing.T) {
	z := &memZone{readFailures: 1}
	zp := PlanZone(spec(Direct), "example.org", "p", []Domain{{Name: "example.org", PolicyID: id}}, nil)
	res := Apply(context.Background(), zp, z)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "reading back") {
		t.Fatalf("err = %v", res.Err)
	}
}
