package lifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

func rec(name, typ, value string) reconcile.Record {
	return reconcile.Record{Name: name, Type: typ, Value: value}
}

func TestOrphans(t *testing.T) {
	shape := Shape{PolicyHost: "mail.example.com", Managed: map[string]bool{"example.com": true}}
	live := []reconcile.Record{
		// a managed domain: not an orphan
		rec("mta-sts.example.com.", "CNAME", "mail.example.com."),
		rec("_mta-sts.example.com.", "TXT", "v=STSv1; id=abc"),
		// direct layout leftover: CNAME to our host, with its TXT records
		// and a foreign TXT beside them
		rec("_mta-sts.gone.example.com.", "TXT", "v=STSv1; id=old"),
		rec("_mta-sts.gone.example.com.", "TXT", "some-verification=1"),
		rec("mta-sts.gone.example.com.", "CNAME", "mail.example.com."),
		rec("_smtp._tls.gone.example.com.", "TXT", "v=TLSRPTv1; rua=mailto:r@example.com"),
		// delegated leftovers: pointers to the primary's names only
		rec("_mta-sts.left.example.com.", "CNAME", "_mta-sts.example.com."),
		rec("_smtp._tls.left.example.com.", "CNAME", "_smtp._tls.example.com."),
		// skipped by mailcow: known, not an orphan
		rec("mta-sts.inactive.example.com.", "CNAME", "mail.example.com."),
		// not ours by shape: a CNAME to someone else's host, a lone TXT
		rec("mta-sts.other.example.com.", "CNAME", "mta-sts.provider.example."),
		rec("_mta-sts.other.example.com.", "TXT", "v=STSv1; id=theirs"),
		rec("_mta-sts.lone.example.com.", "TXT", "v=STSv1; id=x"),
		rec("_mta-sts.elsewhere.example.com.", "CNAME", "_mta-sts.unmanaged.example."),
		// the policy host itself
		rec("mail.example.com.", "A", "192.0.2.1"),
	}
	known := map[string]bool{"example.com": true, "inactive.example.com": true}
	got := shape.Orphans("example.com", live, func(d string) bool { return known[d] })
	want := []Orphan{
		{Domain: "gone.example.com", Zone: "example.com", Records: []reconcile.Record{
			rec("mta-sts.gone.example.com.", "CNAME", "mail.example.com."),
			rec("_smtp._tls.gone.example.com.", "TXT", "v=TLSRPTv1; rua=mailto:r@example.com"),
			rec("_mta-sts.gone.example.com.", "TXT", "v=STSv1; id=old"),
		}},
		{Domain: "left.example.com", Zone: "example.com", Records: []reconcile.Record{
			rec("_smtp._tls.left.example.com.", "CNAME", "_smtp._tls.example.com."),
			rec("_mta-sts.left.example.com.", "CNAME", "_mta-sts.example.com."),
		}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(reconcile.Record{}, "Raw")); diff != "" {
		t.Errorf("Orphans (-want +got):\n%s", diff)
	}
	if got := shape.Orphans("example.com", live, func(string) bool { return true }); got != nil {
		t.Errorf("every domain known: got orphans %+v", got)
	}
}

func TestRecordsAndLiveOf(t *testing.T) {
	shape := Shape{PolicyHost: "mail.example.com.", Managed: map[string]bool{"example.com": true, "example.org": true}}
	live := []reconcile.Record{
		rec("_mta-sts.example.org.", "TXT", "v=STSv1; id=noneid"),
		rec("_mta-sts.example.org.", "TXT", "google-site-verification=x"),
		rec("_smtp._tls.example.org.", "CNAME", "_smtp._tls.example.com."),
		rec("mta-sts.example.org.", "CNAME", "mail.example.com."),
		rec("mta-sts.sub.example.org.", "CNAME", "mail.example.com."),
		rec("www.example.org.", "A", "192.0.2.1"),
	}
	got := shape.Records("example.org", live)
	want := []reconcile.Record{
		rec("mta-sts.example.org.", "CNAME", "mail.example.com."),
		rec("_smtp._tls.example.org.", "CNAME", "_smtp._tls.example.com."),
		rec("_mta-sts.example.org.", "TXT", "v=STSv1; id=noneid"),
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(reconcile.Record{}, "Raw")); diff != "" {
		t.Errorf("Records (-want +got):\n%s", diff)
	}
	if l := LiveOf("example.org", got); !l.Any || l.STSPointer || len(l.STSIDs) != 1 || l.STSIDs[0] != "noneid" {
		t.Errorf("LiveOf = %+v", l)
	}
	pointer := []reconcile.Record{rec("_mta-sts.example.org.", "CNAME", "_mta-sts.example.com.")}
	if l := LiveOf("example.org", shape.Records("example.org", pointer)); !l.STSPointer || len(l.STSIDs) != 0 {
		t.Errorf("LiveOf(delegated) = %+v", l)
	}
	if l := LiveOf("example.net", shape.Records("example.net", live)); l.Any {
		t.Errorf("LiveOf(a domain without records) = %+v", l)
	}
}

// TestDANEOrphans: a host outside dane.hosts with our marker at a
// _<port>._tcp name is an orphan, with the marker and the TLSA values it
// lists (TLSA first, per port); foreign records there, names without a
// marker and the hosts of dane.hosts (on any port) are not.
func TestDANEOrphans(t *testing.T) {
	const (
		a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		c = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	)
	marker := func(hexes string) string { return "v=mtasts-sync1; tlsa=" + hexes }
	old25 := []reconcile.Record{
		rec("_25._tcp.old.example.com.", "TXT", marker(b+" "+a)),
		rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+b),
		rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+a),
		rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+c), // not in the marker: foreign
		rec("_25._tcp.old.example.com.", "TXT", "note=ours"), // foreign
	}
	tests := []struct {
		name      string
		daneHosts map[string]bool
		live      []reconcile.Record
		want      []Orphan
	}{{
		name:      "host removed from dane.hosts",
		daneHosts: map[string]bool{"mail.example.com": true},
		live:      old25,
		want: []Orphan{{Domain: "old.example.com", Zone: "example.com", Ports: []int{25}, Records: []reconcile.Record{
			rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+a),
			rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+b),
			rec("_25._tcp.old.example.com.", "TXT", marker(b+" "+a)),
		}}},
	}, {
		name: "no dane: at all",
		live: old25[:2],
		want: []Orphan{{Domain: "old.example.com", Zone: "example.com", Ports: []int{25}, Records: []reconcile.Record{
			rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+b),
			rec("_25._tcp.old.example.com.", "TXT", marker(b+" "+a)),
		}}},
	}, {
		name:      "a host of dane.hosts, on a port dane.ports no longer lists too",
		daneHosts: map[string]bool{"old.example.com": true},
		live: append([]reconcile.Record{
			rec("_465._tcp.old.example.com.", "TXT", marker(a)),
			rec("_465._tcp.old.example.com.", "TLSA", "3 1 1 "+a),
		}, old25...),
	}, {
		name:      "several ports, one orphan in port order, the marker alone where its values are gone",
		daneHosts: map[string]bool{},
		live: []reconcile.Record{
			rec("_1025._tcp.old.example.com.", "TXT", marker(c)),
			rec("_465._tcp.old.example.com.", "TLSA", "3 1 1 "+a),
			rec("_465._tcp.old.example.com.", "TXT", marker(a)),
			rec("_25._tcp.old.example.com.", "TXT", marker(b)),
			rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+b),
		},
		want: []Orphan{{Domain: "old.example.com", Zone: "example.com", Ports: []int{25, 465, 1025}, Records: []reconcile.Record{
			rec("_25._tcp.old.example.com.", "TLSA", "3 1 1 "+b),
			rec("_25._tcp.old.example.com.", "TXT", marker(b)),
			rec("_465._tcp.old.example.com.", "TLSA", "3 1 1 "+a),
			rec("_465._tcp.old.example.com.", "TXT", marker(a)),
			rec("_1025._tcp.old.example.com.", "TXT", marker(c)),
		}}},
	}, {
		name: "TLSA records without our marker are someone else's",
		live: []reconcile.Record{
			rec("_25._tcp.hand.example.com.", "TLSA", "3 1 1 "+a),
			rec("_25._tcp.hand.example.com.", "TXT", "v=spf1 -all"),
		},
	}, {
		name: "a marker at a name that is not _<port>._tcp.<host>",
		live: []reconcile.Record{
			rec("_25._udp.old.example.com.", "TXT", marker(a)),
			rec("_smtp._tcp.old.example.com.", "TXT", marker(a)),
			rec("_0._tcp.old.example.com.", "TXT", marker(a)),
			rec("old.example.com.", "TXT", marker(a)),
		},
	}, {
		name:      "beside a mail domain's orphan, sorted by name",
		daneHosts: map[string]bool{"mail.example.com": true},
		live: []reconcile.Record{
			rec("_25._tcp.a.example.com.", "TXT", marker(a)),
			rec("mta-sts.b.example.com.", "CNAME", "mail.example.com."),
			rec("_25._tcp.mail.example.com.", "TXT", marker(c)),
			rec("_25._tcp.mail.example.com.", "TLSA", "3 1 1 "+c),
		},
		want: []Orphan{
			{Domain: "a.example.com", Zone: "example.com", Ports: []int{25}, Records: []reconcile.Record{
				rec("_25._tcp.a.example.com.", "TXT", marker(a)),
			}},
			{Domain: "b.example.com", Zone: "example.com", Records: []reconcile.Record{
				rec("mta-sts.b.example.com.", "CNAME", "mail.example.com."),
			}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape := Shape{PolicyHost: "mail.example.com", Managed: map[string]bool{"example.com": true}, DANEHosts: tt.daneHosts}
			got := shape.Orphans("Example.com.", tt.live, func(d string) bool { return d == "example.com" })
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(reconcile.Record{}, "Raw")); diff != "" {
				t.Errorf("Orphans (-want +got):\n%s", diff)
			}
		})
	}
}
