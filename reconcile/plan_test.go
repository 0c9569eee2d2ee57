package reconcile

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	id     = "c0a762642c8ff96deabc"
	stsTXT = "v=STSv1; id=" + id
	rptTXT = "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
)

func spec(layout Layout) Spec {
	return specFor("mail.example.com", rptTXT, layout)
}

func specFor(policyHost, tlsrpt string, layout Layout) Spec {
	return Spec{
		Kinds:   MTASTSKinds(policyHost, tlsrpt),
		Layout:  layout,
		Primary: "example.com",
		TTL:     time.Hour,
		Managed: map[string]bool{"example.com": true, "example.org": true},
	}
}

// rec parses "name TYPE value" with an absolute name, as Ingest would.
func rec(s string) Record {
	f := strings.SplitN(s, " ", 3)
	return Canonical(Record{Name: f[0], Type: f[1], Value: f[2], TTL: time.Hour})
}

func recs(ss ...string) []Record {
	out := make([]Record, len(ss))
	for i, s := range ss {
		out[i] = rec(s)
	}
	return out
}

// inSync is example.org exactly as the direct layout wants it.
var inSync = []string{
	"mta-sts.example.org. CNAME mail.example.com.",
	"_mta-sts.example.org. TXT " + stsTXT,
	"_smtp._tls.example.org. TXT " + rptTXT,
}

// short renders changes as "action name type old -> new" for compact tables.
func short(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, string(c.Action)+" "+c.Name+" "+c.Type+" "+strings.Join(c.Old, "|")+" -> "+strings.Join(c.New, "|"))
	}
	return out
}

func TestPlanZone(t *testing.T) {
	org := Domain{Name: "example.org", Zone: "example.org", Provider: "p", PolicyID: id}
	foreign := []string{
		"example.org. MX 10 mail.example.com.",
		"example.org. TXT v=spf1 mx -all",
		"www.example.org. A 192.0.2.80",
	}
	tests := []struct {
		name   string
		layout Layout
		domain Domain
		held   string // the gate's reason to hold the id back
		live   []string
		want   []string
		inSync bool
	}{
		{
			name: "empty zone: all three created, policy host first, id last",
			live: foreign,
			want: []string{
				"create mta-sts.example.org. CNAME  -> mail.example.com.",
				"create _smtp._tls.example.org. TXT  -> " + rptTXT,
				"create _mta-sts.example.org. TXT  -> " + stsTXT,
			},
		},
		{name: "in sync", live: append(foreign, inSync...), want: []string{}, inSync: true},
		{
			name: "meaning, not bytes: mailcow's spelling and case and dots",
			live: []string{
				"mta-sts.example.org. CNAME mail.example.com.",
				"_mta-sts.example.org. TXT v=STSv1;id=" + id + ";",
				"_smtp._tls.example.org. TXT v=TLSRPTv1;rua=mailto:tls-reports@example.com;",
			},
			want: []string{}, inSync: true,
		},
		{
			name: "stale id updated, foreign TXT at the name kept",
			live: []string{inSync[0], inSync[2], "_mta-sts.example.org. TXT v=STSv1; id=old", "_mta-sts.example.org. TXT owner=postmaster"},
			want: []string{"update _mta-sts.example.org. TXT v=STSv1; id=old -> " + stsTXT},
		},
		{
			name: "two STS records: both replaced by one",
			live: []string{inSync[0], inSync[2], "_mta-sts.example.org. TXT v=STSv1; id=a", "_mta-sts.example.org. TXT v=STSv1; id=b"},
			want: []string{"update _mta-sts.example.org. TXT v=STSv1; id=a|v=STSv1; id=b -> " + stsTXT},
		},
		{
			name: "an A record where the CNAME goes is a conflict",
			live: []string{"mta-sts.example.org. A 192.0.2.7", inSync[1], inSync[2]},
			want: []string{"conflict mta-sts.example.org. A 192.0.2.7 -> "},
		},
		{
			name: "policy before pointer: no id while the policy host's name is not ours",
			live: []string{"mta-sts.example.org. A 192.0.2.7", inSync[2]},
			want: []string{
				"conflict mta-sts.example.org. A 192.0.2.7 -> ",
				"withheld _mta-sts.example.org. TXT  -> " + stsTXT,
			},
		},
		{
			name: "a CNAME to the wrong policy host is ours to fix",
			live: []string{"mta-sts.example.org. CNAME old.example.com.", inSync[1], inSync[2]},
			want: []string{"update mta-sts.example.org. CNAME old.example.com. -> mail.example.com."},
		},
		{
			name: "a foreign CNAME where we want TXT is a conflict",
			live: []string{inSync[0], inSync[2], "_mta-sts.example.org. CNAME _mta-sts.hosted.example.net."},
			want: []string{"conflict _mta-sts.example.org. CNAME _mta-sts.hosted.example.net. -> "},
		},
		{
			name: "our delegated CNAME where direct wants TXT: deleted, then TXT created",
			live: []string{inSync[0], inSync[2], "_mta-sts.example.org. CNAME _mta-sts.example.com."},
			want: []string{
				"delete _mta-sts.example.org. CNAME _mta-sts.example.com. -> ",
				"create _mta-sts.example.org. TXT  -> " + stsTXT,
			},
		},
		{
			name: "withheld id: the other records go ahead",
			held: "policy not served yet",
			live: foreign,
			want: []string{
				"create mta-sts.example.org. CNAME  -> mail.example.com.",
				"create _smtp._tls.example.org. TXT  -> " + rptTXT,
				"withheld _mta-sts.example.org. TXT  -> " + stsTXT,
			},
		},
		{
			name: "withheld id: our old delegated CNAME stays until the TXT may go out",
			held: "policy not served yet",
			live: []string{inSync[0], inSync[2], "_mta-sts.example.org. CNAME _mta-sts.example.com."},
			want: []string{
				"withheld _mta-sts.example.org. CNAME _mta-sts.example.com. -> ",
				"withheld _mta-sts.example.org. TXT  -> " + stsTXT,
			},
		},
		{
			name:   "delegated and withheld: no CNAME to the primary's id yet",
			layout: Delegated,
			held:   "policy not served yet",
			live:   []string{inSync[0], "_smtp._tls.example.org. CNAME _smtp._tls.example.com.", "_mta-sts.example.org. TXT v=STSv1; id=old"},
			want: []string{
				"withheld _mta-sts.example.org. TXT v=STSv1; id=old -> ",
				"withheld _mta-sts.example.org. CNAME  -> _mta-sts.example.com.",
			},
		},
		{
			name:   "delegated: TXT moves to a CNAME at the primary",
			layout: Delegated,
			live:   inSync,
			want: []string{
				"delete _smtp._tls.example.org. TXT " + rptTXT + " -> ",
				"create _smtp._tls.example.org. CNAME  -> _smtp._tls.example.com.",
				"delete _mta-sts.example.org. TXT " + stsTXT + " -> ",
				"create _mta-sts.example.org. CNAME  -> _mta-sts.example.com.",
			},
		},
		{
			name:   "delegated: a foreign TXT blocks the CNAME",
			layout: Delegated,
			live: []string{inSync[0], "_smtp._tls.example.org. CNAME _smtp._tls.example.com.",
				"_mta-sts.example.org. TXT owner=postmaster"},
			want: []string{"conflict _mta-sts.example.org. TXT owner=postmaster -> "},
		},
		{
			name:   "delegated: in sync",
			layout: Delegated,
			live: []string{inSync[0], "_smtp._tls.example.org. CNAME _smtp._tls.example.com.",
				"_mta-sts.example.org. CNAME _mta-sts.example.com."},
			want: []string{}, inSync: true,
		},
		{
			name:   "delegated primary keeps its TXT records",
			layout: Delegated,
			domain: Domain{Name: "example.com", Zone: "example.com", Provider: "p", PolicyID: id},
			live:   []string{"mta-sts.example.com. CNAME mail.example.com.", "_mta-sts.example.com. TXT " + stsTXT, "_smtp._tls.example.com. TXT " + rptTXT},
			want:   []string{}, inSync: true,
		},
		{
			name: "DNSSEC records beside our names conflict with nothing",
			live: []string{"mta-sts.example.org. RRSIG CNAME 13 3 3600 x", "mta-sts.example.org. NSEC example.org. CNAME RRSIG NSEC", inSync[1], inSync[2]},
			want: []string{"create mta-sts.example.org. CNAME  -> mail.example.com."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layout := tt.layout
			if layout == "" {
				layout = Direct
			}
			d := tt.domain
			if d.Name == "" {
				d = org
			}
			zp := PlanZone(spec(layout), d.Zone, "p", []Domain{d}, recs(tt.live...))
			if tt.held != "" {
				zp = zp.Withhold(map[Hold]string{{Domain: d.Name, Kind: KindSTS}: tt.held})
			}
			if diff := cmp.Diff(tt.want, short(zp.Changes)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if got := len(zp.InSync) == 1; got != tt.inSync {
				t.Errorf("in sync = %v, want %v", got, tt.inSync)
			}
		})
	}
}

func TestPlanZonePolicyHostIsTheDomainsOwn(t *testing.T) {
	s := specFor("mta-sts.example.org", rptTXT, Direct)
	live := recs("mta-sts.example.org. A 192.0.2.80", inSync[1], inSync[2])
	zp := PlanZone(s, "example.org", "p", []Domain{{Name: "example.org", PolicyID: id}}, live)
	if len(zp.Changes) != 0 {
		t.Errorf("planned %v; mta-sts.example.org is the policy host itself and needs no CNAME", short(zp.Changes))
	}
	other := PlanZone(s, "example.net", "p", []Domain{{Name: "example.net", PolicyID: id}}, nil)
	if got := short(other.Changes)[0]; got != "create mta-sts.example.net. CNAME  -> mta-sts.example.org." {
		t.Errorf("another domain's CNAME: %s", got)
	}
}

func TestPlanZoneTLSRPTLeftAloneWhenNotConfigured(t *testing.T) {
	s := specFor("mail.example.com", "", Direct)
	live := recs("_smtp._tls.example.org. TXT v=TLSRPTv1; rua=mailto:someone@else.example")
	zp := PlanZone(s, "example.org", "p", []Domain{{Name: "example.org", PolicyID: id}}, live)
	for _, c := range zp.Changes {
		if strings.HasPrefix(c.Name, "_smtp._tls.") {
			t.Errorf("planned %s at %s although tlsrpt is not configured", c.Action, c.Name)
		}
	}
}

func TestPlanZoneDeterministic(t *testing.T) {
	var live []Record
	var domains []Domain
	for _, d := range []string{"a.example", "b.example", "c.example", "d.example"} {
		domains = append(domains, Domain{Name: d, Zone: "example", PolicyID: id})
		live = append(live, recs("_mta-sts."+d+". TXT v=STSv1; id=x", "www."+d+". A 192.0.2.1")...)
	}
	first := PlanZone(spec(Direct), "example", "p", domains, live)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		rng.Shuffle(len(domains), func(i, j int) { domains[i], domains[j] = domains[j], domains[i] })
		again := PlanZone(spec(Direct), "example", "p", domains, live)
		if diff := cmp.Diff(first, again, cmpopts.IgnoreFields(Change{}, "Have", "Want", "Keep")); diff != "" {
			t.Fatalf("plan depends on input order (-first +again):\n%s", diff)
		}
	}
}

func TestDesired(t *testing.T) {
	d := Domain{Name: "example.org", PolicyID: id}
	got := func(s Spec) []string {
		var out []string
		for _, r := range s.Desired(d) {
			out = append(out, r.Name+" "+r.Type+" "+r.Value)
		}
		return out
	}
	if diff := cmp.Diff(inSync[:1], got(spec(Direct))[:1]); diff != "" {
		t.Error(diff)
	}
	want := []string{
		"mta-sts.example.org. CNAME mail.example.com.",
		"_smtp._tls.example.org. CNAME _smtp._tls.example.com.",
		"_mta-sts.example.org. CNAME _mta-sts.example.com.",
	}
	if diff := cmp.Diff(want, got(spec(Delegated))); diff != "" {
		t.Errorf("delegated (-want +got):\n%s", diff)
	}
	want = []string{inSync[0], inSync[2], inSync[1]}
	if diff := cmp.Diff(want, got(spec(Direct))); diff != "" {
		t.Errorf("direct (-want +got):\n%s", diff)
	}
}
