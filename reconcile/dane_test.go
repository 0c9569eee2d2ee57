package reconcile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDANEKind(t *testing.T) {
	const name = "_25._tcp.mail.example.com."
	var (
		a       = strings.Repeat("aa", 32)
		b       = strings.Repeat("bb", 32)
		c       = strings.Repeat("cc", 32)
		cur     = "3 1 1 " + a
		next    = "3 1 1 " + b
		other   = "3 1 1 " + c
		mA      = DANEMarker + " tlsa=" + a
		mAB     = DANEMarker + " tlsa=" + a + " " + b
		mB      = DANEMarker + " tlsa=" + b
		spareV  = "3 1 1 " + strings.Repeat("dd", 32)
		spare   = name + " TLSA " + spareV // someone's spare key: not ours
		ta      = name + " TLSA 2 1 1 " + strings.Repeat("EE", 32)
		note    = name + " TXT hello"
		address = "mail.example.com. A 192.0.2.25"
	)
	host := Domain{Name: "mail.example.com", Zone: "example.com", Provider: "p", Hosts: []string{"mail.example.com"}, HostOnly: true}
	tests := []struct {
		name string
		want []string // values wanted at name
		live []string
		out  []string
	}{
		{name: "create beside foreign records",
			want: []string{cur}, live: []string{address, spare, ta, note},
			out: []string{"create " + name + " TLSA  -> " + cur, "create " + name + " TXT  -> " + mA}},
		{name: "rerun: in sync, hex case and spacing do not matter",
			want: []string{cur}, live: []string{address, spare, ta, note, name + " TLSA 3 1 1 " + strings.ToUpper(a[:10]) + " " + a[10:], name + " TXT " + mA},
			out: []string{}},
		{name: "next key published beside the current one",
			want: []string{cur, next}, live: []string{spare, name + " TLSA " + cur, name + " TXT " + mA},
			out: []string{"update " + name + " TLSA " + cur + " -> " + cur + "|" + next, "update " + name + " TXT " + mA + " -> " + mAB}},
		{name: "after the swap the old key, listed in the marker, is removed",
			want: []string{next}, live: []string{spare, ta, name + " TLSA " + cur, name + " TLSA " + next, name + " TXT " + mAB},
			out: []string{"update " + name + " TLSA " + cur + "|" + next + " -> " + next, "update " + name + " TXT " + mAB + " -> " + mB}},
		{name: "key changed without a next key",
			want: []string{other}, live: []string{name + " TLSA " + cur, name + " TXT " + mA},
			out: []string{"update " + name + " TLSA " + cur + " -> " + other, "update " + name + " TXT " + mA + " -> " + DANEMarker + " tlsa=" + c}},
		{name: "a 3 1 1 no marker lists is foreign and stays",
			want: []string{next}, live: []string{name + " TLSA " + cur, name + " TXT " + mB, name + " TLSA " + next},
			out: []string{}},
		{name: "a CNAME at the name (TLSA indirection) is left alone",
			want: []string{cur}, live: []string{name + " CNAME _25._tcp.mx.provider.example."},
			out: []string{"conflict " + name + " CNAME _25._tcp.mx.provider.example. -> "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(Direct)
			s.Kinds = append(s.Kinds, DANEKind(25, map[string][]string{name: tt.want}))
			zp := PlanZone(s, "example.com", "p", []Domain{host}, recs(tt.live...))
			if diff := cmp.Diff(tt.out, short(zp.Changes)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			for _, ch := range zp.Changes {
				if ch.Kind != "dane-25" || ch.Domain != "mail.example.com" {
					t.Errorf("change %s %s: kind %q domain %q", ch.Name, ch.Type, ch.Kind, ch.Domain)
				}
				for _, k := range ch.Keep {
					if k.Value == cur || k.Value == next {
						t.Errorf("change %s %s keeps our %s as foreign", ch.Name, ch.Type, k.Value)
					}
				}
				if ch.Type == "TLSA" {
					for _, h := range ch.Have {
						if h.Value == spareV {
							t.Errorf("the spare key is treated as ours")
						}
					}
				}
			}
		})
	}
}

func TestDANEHostOnlyGetsNoMTASTSRecords(t *testing.T) {
	const name = "_25._tcp.mail.example.net."
	s := spec(Direct)
	s.Kinds = append(s.Kinds, DANEKind(25, map[string][]string{name: {"3 1 1 " + strings.Repeat("aa", 32)}}))
	host := Domain{Name: "mail.example.net", Zone: "example.net", Hosts: []string{"mail.example.net"}, HostOnly: true}
	got := s.Desired(host)
	if len(got) != 2 || got[0].Name != name || got[1].Name != name {
		t.Errorf("desired = %v, want only the TLSA record and its marker at %s", got, name)
	}
	// A host not in want is left alone.
	other := Domain{Name: "mx2.example.net", Zone: "example.net", Hosts: []string{"mx2.example.net"}, HostOnly: true}
	if got := s.Desired(other); len(got) != 0 {
		t.Errorf("desired for a host without TLSA = %v", got)
	}
}

func TestDANEHostBelowZoneCut(t *testing.T) {
	s := spec(Direct)
	s.Kinds = append(s.Kinds, DANEKind(25, map[string][]string{"_25._tcp.mail.sub.example.com.": {"3 1 1 " + strings.Repeat("aa", 32)}}))
	host := Domain{Name: "mail.sub.example.com", Zone: "example.com", Hosts: []string{"mail.sub.example.com"}, HostOnly: true}
	if err := s.ZoneCut("example.com", host, recs("sub.example.com. NS ns1.elsewhere.example.")); err == nil || !strings.Contains(err.Error(), "sub.example.com") {
		t.Errorf("TLSA below a delegation: %v, want an error naming the cut", err)
	}
	if err := s.ZoneCut("example.com", host, recs("other.example.com. NS ns1.elsewhere.example.")); err != nil {
		t.Errorf("a cut elsewhere: %v", err)
	}
}
