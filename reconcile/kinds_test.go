package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
)

// tlsaKind is what a DANE kind looks like: records under each MX host,
// several at once, all of its type ours.
func tlsaKind(want map[string][]string) Kind {
	return Kind{
		Name:      "tlsa",
		Prefix:    "_25._tcp.",
		UnderHost: true,
		Types:     []string{"TLSA"},
		Want: func(_ Domain, name string) ([]Record, bool) {
			var out []Record
			for _, v := range want[name] {
				out = append(out, Record{Type: "TLSA", Value: v})
			}
			return out, true
		},
	}
}

func TestNewKindNeedsNoOtherCode(t *testing.T) {
	const host = "_25._tcp.mx.example.org."
	s := spec(Direct)
	s.Kinds = append(s.Kinds, tlsaKind(map[string][]string{host: {"3 1 1 AABB", "3 1 1 ccdd"}}))
	d := Domain{Name: "example.org", Zone: "example.org", PolicyID: id, Hosts: []string{"mx.example.org"}}
	tests := []struct {
		name string
		live []string
		want []string
	}{
		{name: "created after the MTA-STS records", live: inSync,
			want: []string{"create " + host + " TLSA  -> 3 1 1 aabb|3 1 1 ccdd"}},
		{name: "same records in another spelling: in sync",
			live: append(append([]string(nil), inSync...), host+" TLSA 3 1 1  aaBB", host+" TLSA 3 1 1 CCDD"), want: []string{}},
		{name: "one rolled over: the set is replaced",
			live: append(append([]string(nil), inSync...), host+" TLSA 3 1 1 aabb", host+" TLSA 3 1 1 0000"),
			want: []string{"update " + host + " TLSA 3 1 1 0000|3 1 1 aabb -> 3 1 1 aabb|3 1 1 ccdd"}},
		{name: "a foreign CNAME hides it: conflict",
			live: append(append([]string(nil), inSync...), host+" CNAME elsewhere.example."),
			want: []string{"conflict " + host + " CNAME elsewhere.example. -> "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zp := PlanZone(s, "example.org", "p", []Domain{d}, recs(tt.live...))
			if diff := cmp.Diff(tt.want, short(zp.Changes)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			for _, c := range zp.Changes {
				if c.Kind != "tlsa" {
					t.Errorf("change %s %s has kind %q", c.Name, c.Type, c.Kind)
				}
			}
		})
	}
	q := s.Queries([]Domain{d})
	if got := q[0]; got.Name != host || strings.Join(got.Types, ",") != "CNAME,TLSA" {
		t.Errorf("first query = %+v, want %s CNAME,TLSA", got, host)
	}
}

func TestHostSharedByDomainsPlannedOnce(t *testing.T) {
	const host = "_25._tcp.mx.example.org."
	s := spec(Direct)
	s.Kinds = []Kind{tlsaKind(map[string][]string{host: {"3 1 1 aa"}})}
	domains := []Domain{
		{Name: "example.org", Zone: "example.org", Hosts: []string{"mx.example.org"}},
		{Name: "a.example.org", Zone: "example.org", Hosts: []string{"mx.example.org"}},
	}
	zp := PlanZone(s, "example.org", "p", domains, nil)
	if len(zp.Changes) != 1 {
		t.Errorf("changes = %v, want one create at %s", short(zp.Changes), host)
	}
}

// retiring wants nothing of every kind: ours go, in reverse write order.
func retiring(kinds []Kind) []Kind {
	out := append([]Kind(nil), kinds...)
	for i := range out {
		out[i].Want = func(Domain, string) ([]Record, bool) { return nil, true }
	}
	return out
}

func TestRemovalsRunInReverse(t *testing.T) {
	s := spec(Direct)
	s.Kinds = retiring(s.Kinds)
	live := append([]string{"_mta-sts.example.org. TXT owner=postmaster", "mta-sts.example.org. TXT keep-me"}, inSync...)
	zp := PlanZone(s, "example.org", "p", []Domain{{Name: "example.org", Zone: "example.org"}}, recs(live...))
	want := []string{
		"delete _mta-sts.example.org. TXT " + stsTXT + " -> ",
		"delete _smtp._tls.example.org. TXT " + rptTXT + " -> ",
		"delete mta-sts.example.org. CNAME mail.example.com. -> ",
	}
	if diff := cmp.Diff(want, short(zp.Changes)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	for _, c := range zp.Changes {
		if c.Name == "_mta-sts.example.org." && len(c.Have) != 1 {
			t.Errorf("removes %v; the foreign TXT must stay", c.Have)
		}
	}
}

func TestRemovalLeavesForeignCNAME(t *testing.T) {
	s := spec(Direct)
	s.Kinds = retiring(s.Kinds)
	live := []string{"mta-sts.example.org. CNAME other.example.net.", "_mta-sts.example.org. CNAME _mta-sts.hosted.example.net."}
	zp := PlanZone(s, "example.org", "p", []Domain{{Name: "example.org", Zone: "example.org"}}, recs(live...))
	if len(zp.Changes) != 0 {
		t.Errorf("changes = %v; CNAMEs that are not ours stay", short(zp.Changes))
	}
}

func TestWithholdIsAPureFilter(t *testing.T) {
	s := spec(Direct)
	org := PlanZone(s, "example.org", "p", []Domain{{Name: "example.org", Zone: "example.org", PolicyID: id}},
		recs("mta-sts.example.org. A 192.0.2.7"))
	net := PlanZone(s, "example.net", "p", []Domain{{Name: "example.net", Zone: "example.net", PolicyID: id}}, nil)
	p := Plan{Zones: []ZonePlan{org, net}}
	before := short(append(append([]Change(nil), org.Changes...), net.Changes...))
	got := Withhold(p, map[Hold]string{
		{Domain: "example.net", Kind: KindSTS}:        "gate says no",
		{Domain: "example.org", Kind: KindSTS}:        "gate says no",
		{Domain: "example.org", Kind: KindPolicyHost}: "would hide the conflict",
	})
	after := short(append(append([]Change(nil), p.Zones[0].Changes...), p.Zones[1].Changes...))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("Withhold changed its input (-before +after):\n%s", diff)
	}
	want := []string{
		// A conflict stays a conflict; an id already held keeps its reason.
		"conflict mta-sts.example.org. A 192.0.2.7 -> ",
		"create _smtp._tls.example.org. TXT  -> " + rptTXT,
		"withheld _mta-sts.example.org. TXT  -> " + stsTXT,
		"create mta-sts.example.net. CNAME  -> mail.example.com.",
		"create _smtp._tls.example.net. TXT  -> " + rptTXT,
		"withheld _mta-sts.example.net. TXT  -> " + stsTXT,
	}
	all := append(append([]Change(nil), got.Zones[0].Changes...), got.Zones[1].Changes...)
	if diff := cmp.Diff(want, short(all)); diff != "" {
		t.Errorf("withheld plan (-want +got):\n%s", diff)
	}
	if r := got.Zones[0].Changes[2].Reason; !strings.Contains(r, "not ours yet") {
		t.Errorf("reason of the held id = %q; the first reason stays", r)
	}
	if r := got.Zones[1].Changes[2].Reason; r != "gate says no" {
		t.Errorf("reason = %q, want the gate's", r)
	}
	if s := got.Summary(); s.Create+s.Update+s.Delete > p.Summary().Create+p.Summary().Update+p.Summary().Delete {
		t.Errorf("Withhold added work: %+v", s)
	}
}

func TestSameAndCanonical(t *testing.T) {
	tests := []struct {
		a, b Record
		want bool
	}{
		{Record{Name: "_MTA-STS.Example.ORG", Type: "txt", Value: "v=STSv1;id=1;"}, Record{Name: "_mta-sts.example.org.", Type: "TXT", Value: "v=STSv1; id=1"}, true},
		{Record{Name: "a.example.", Type: "TXT", Value: "v=STSv1; id=1"}, Record{Name: "a.example.", Type: "TXT", Value: "v=STSv1; id=2"}, false},
		{Record{Name: "a.example.", Type: "TXT", Value: "Hello"}, Record{Name: "a.example.", Type: "TXT", Value: "hello"}, false},
		{Record{Name: "mta-sts.example.", Type: "CNAME", Value: "Mail.Example.COM"}, Record{Name: "mta-sts.example.", Type: "CNAME", Value: "mail.example.com."}, true},
		{Record{Name: "x.example.", Type: "TLSA", Value: "3 1 1 ABCD"}, Record{Name: "x.example.", Type: "tlsa", Value: " 3  1 1 abcd"}, true},
		{Record{Name: "x.example.", Type: "TXT", Value: "a"}, Record{Name: "y.example.", Type: "TXT", Value: "a"}, false},
		{Record{Name: "x.example.", Type: "TXT", Value: "a"}, Record{Name: "x.example.", Type: "CNAME", Value: "a"}, false},
	}
	for _, tt := range tests {
		a, b := Canonical(tt.a), Canonical(tt.b)
		if got := Same(a, b); got != tt.want {
			t.Errorf("Same(%+v, %+v) = %v, want %v", a, b, got, tt.want)
		}
		if got := Same(b, a); got != tt.want {
			t.Errorf("Same(%+v, %+v) = %v, want %v (not symmetric)", b, a, got, tt.want)
		}
	}
}

func TestIngest(t *testing.T) {
	in := []libdns.Record{
		libdns.RR{Name: "_MTA-STS", Type: "txt", Data: `"v=STSv1; " "id=1"`, TTL: time.Minute},
		libdns.RR{Name: "mta-sts", Type: "CNAME", Data: "Mail.Example.COM"},
		libdns.RR{Name: "@", Type: "TXT", Data: `"plain \"quoted\" text"`},
	}
	got := Ingest("Example.ORG.", in, IngestOptions{PresentationTXT: true})
	want := []string{
		"_mta-sts.example.org. TXT v=STSv1; id=1",
		"mta-sts.example.org. CNAME mail.example.com.",
		`example.org. TXT plain "quoted" text`,
	}
	var lines []string
	for _, r := range got {
		lines = append(lines, r.Name+" "+r.Type+" "+r.Value)
		if r.Raw == nil {
			t.Errorf("%s lost its raw record", r.Name)
		}
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("Ingest (-want +got):\n%s", diff)
	}
	raw := Ingest("example.org", in[2:], IngestOptions{})
	if raw[0].Value != `"plain \"quoted\" text"` {
		t.Errorf("without PresentationTXT the value is %q, want it as given", raw[0].Value)
	}
}
