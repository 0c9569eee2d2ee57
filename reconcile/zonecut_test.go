package reconcile

import (
	"strings"
	"testing"
)

func TestZoneCut(t *testing.T) {
	base := []string{
		"example.com. NS ns1.example.net.",
		"example.com. NS ns2.example.net.",
		"www.example.com. A 192.0.2.1",
	}
	tests := []struct {
		name   string
		domain string
		live   []string
		noRPT  bool   // no TLSRPT record: _smtp._tls is not ours
		want   string // "" means no cut
	}{
		{name: "no cut", domain: "sub.example.com"},
		{name: "apex NS is no cut", domain: "example.com"},
		{name: "domain delegated", domain: "sub.example.com", live: []string{"sub.example.com. NS NS.Elsewhere.TEST"},
			want: "sub.example.com is delegated to ns.elsewhere.test.: its records belong in that zone, not in zone example.com"},
		{name: "two NS named, sorted", domain: "sub.example.com", live: []string{"sub.example.com. NS ns2.elsewhere.test.", "sub.example.com. NS ns1.elsewhere.test."},
			want: "delegated to ns1.elsewhere.test., ns2.elsewhere.test.: "},
		{name: "parent of the domain delegated", domain: "a.b.example.com", live: []string{"b.example.com. NS ns.elsewhere.test."},
			want: "a.b.example.com lies in b.example.com, which is delegated to ns.elsewhere.test.: its records belong in that zone, not in zone example.com"},
		{name: "one of our names delegated", domain: "sub.example.com", live: []string{"_tls.sub.example.com. NS ns.elsewhere.test."},
			want: "sub.example.com: _tls.sub.example.com. is delegated to ns.elsewhere.test., so _smtp._tls.sub.example.com. belongs in that zone"},
		{name: "that name is not ours without tlsrpt", domain: "sub.example.com", noRPT: true, live: []string{"_tls.sub.example.com. NS ns.elsewhere.test."}},
		{name: "sibling delegated", domain: "sub.example.com", live: []string{"other.example.com. NS ns.elsewhere.test.", "xsub.example.com. NS ns.elsewhere.test."}},
		{name: "name below the domain delegated, off our names", domain: "sub.example.com", live: []string{"shop.sub.example.com. NS ns.elsewhere.test."}},
		{name: "DNAME at the domain", domain: "sub.example.com", live: []string{"sub.example.com. DNAME other.test."},
			want: "sub.example.com: the DNAME at sub.example.com. (to other.test.) answers for every name below it, so records written for sub.example.com in zone example.com would never be seen"},
		{name: "DNAME at the apex", domain: "example.com", live: []string{"example.com. DNAME example.org."},
			want: "example.com: the DNAME at example.com. (to example.org.)"},
		{name: "DNAME between the domain and one of our names", domain: "sub.example.com", live: []string{"_tls.sub.example.com. DNAME other.test."},
			want: "sub.example.com: the DNAME at _tls.sub.example.com. (to other.test.) answers for every name below it, so _smtp._tls.sub.example.com. written in zone example.com would never be seen"},
		{name: "DNAME at one of our names redirects only below it", domain: "sub.example.com", live: []string{"mta-sts.sub.example.com. DNAME other.test."}},
		{name: "the cut nearest the apex is named", domain: "a.b.example.com", live: []string{"a.b.example.com. DNAME other.test.", "b.example.com. NS ns.elsewhere.test."},
			want: "lies in b.example.com, which is delegated to ns.elsewhere.test."},
		{name: "names outside the zone are not judged", domain: "example.org", live: []string{"example.org. NS ns.elsewhere.test."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec(Direct)
			if tc.noRPT {
				s = specFor("mail.example.com", "", Direct)
			}
			live := recs(append(append([]string(nil), base...), tc.live...)...)
			err := s.ZoneCut("example.com", Domain{Name: tc.domain, Zone: "example.com"}, live)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ZoneCut = %v, want none", err)
			case tc.want != "" && err == nil:
				t.Errorf("ZoneCut = nil, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("ZoneCut = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
