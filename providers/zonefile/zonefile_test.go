package zonefile

import (
	"context"
	"fmt"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

var fixedNow = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

// dkimKey is longer than one 255-byte character-string.
var dkimKey = "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 8)

const realisticZone = `; hand-written zone, comments are allowed
$ORIGIN example.com.
$TTL 3600
@   IN SOA ns1.example.com. hostmaster.example.com. (
        2024010101 ; serial
        7200 3600 1209600 300 )
    IN NS  ns1.example.com.
    IN NS  ns2.example.net.
ns1     IN A     192.0.2.53
@       IN A     192.0.2.1
@       IN AAAA  2001:db8::1
@       IN MX    10 mail.example.com.
mail    IN A     192.0.2.25
@       IN TXT   "v=spf1 mx -all"
sel._domainkey 300 IN TXT ( "%s"
                            "%s" )
quote   IN TXT   "say \"hi\" \\ back caf\195\169 ünï"
@       IN CAA   0 issue "letsencrypt.org"
_imaps._tcp IN SRV 0 1 993 mail.example.com.
www     IN CNAME example.com.
`

func writeZone(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func newRealistic(t *testing.T) (*Provider, string) {
	t.Helper()
	dir := t.TempDir()
	path := writeZone(t, dir, "example.com.zone", fmt.Sprintf(realisticZone, dkimKey[:200], dkimKey[200:]))
	p := New(dir)
	p.now = func() time.Time { return fixedNow }
	return p, path
}

const smallZone = `$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
@ IN NS ns1.example.com.
ns1 IN A 192.0.2.53
@ IN A 192.0.2.1
@ IN A 192.0.2.2
@ IN TXT "hello world"
_mta-sts 300 IN TXT "v=STSv1; id=1"
_mta-sts 300 IN TXT "unrelated"
mta-sts IN CNAME mail.example.com.
`

func newSmall(t *testing.T) (*Provider, string) {
	t.Helper()
	dir := t.TempDir()
	path := writeZone(t, dir, "example.com.zone", smallZone)
	p := New(dir)
	p.now = func() time.Time { return fixedNow }
	return p, path
}

// fileRecords parses a zone file on its own, independent of the provider.
func fileRecords(t *testing.T, path string) []dns.RR {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zp := dns.NewZoneParser(strings.NewReader(string(data)), "example.com.", path)
	var out []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone file no longer parses: %v\n%s", err, data)
	}
	return out
}

// splitSOA returns the serial and the set of record lines with the serial
// zeroed, so two versions of a zone compare record by record.
func splitSOA(t *testing.T, rrs []dns.RR) (uint32, map[string]bool) {
	t.Helper()
	var serial uint32
	lines := make(map[string]bool)
	for _, rr := range rrs {
		rr = dns.Copy(rr)
		if soa, ok := rr.(*dns.SOA); ok {
			serial = soa.Serial
			soa.Serial = 0
		}
		lines[rr.String()] = true
	}
	return serial, lines
}

func mustRR(t *testing.T, s string) string {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("test record %q: %v", s, err)
	}
	return rr.String()
}

func rrs(recs []libdns.Record) []libdns.RR {
	out := make([]libdns.RR, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.RR())
	}
	return out
}

var cmpOpts = []cmp.Option{cmpopts.EquateComparable(netip.Addr{})}

func TestGetRecordsRealisticZone(t *testing.T) {
	p, _ := newRealistic(t)
	got, err := p.GetRecords(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []libdns.Record{
		libdns.RR{Name: "@", TTL: time.Hour, Type: "SOA", Data: "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
		libdns.NS{Name: "@", TTL: time.Hour, Target: "ns1.example.com."},
		libdns.NS{Name: "@", TTL: time.Hour, Target: "ns2.example.net."},
		libdns.Address{Name: "ns1", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.53")},
		libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.1")},
		libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("2001:db8::1")},
		libdns.MX{Name: "@", TTL: time.Hour, Preference: 10, Target: "mail.example.com."},
		libdns.Address{Name: "mail", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.25")},
		libdns.TXT{Name: "@", TTL: time.Hour, Text: "v=spf1 mx -all"},
		libdns.TXT{Name: "sel._domainkey", TTL: 5 * time.Minute, Text: dkimKey},
		libdns.TXT{Name: "quote", TTL: time.Hour, Text: `say "hi" \ back café ünï`},
		libdns.CAA{Name: "@", TTL: time.Hour, Flags: 0, Tag: "issue", Value: "letsencrypt.org"},
		libdns.SRV{Service: "imaps", Transport: "tcp", Name: "@", TTL: time.Hour, Priority: 0, Weight: 1, Port: 993, Target: "mail.example.com."},
		libdns.CNAME{Name: "www", TTL: time.Hour, Target: "example.com."},
	}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("GetRecords mismatch (-want +got):\n%s", diff)
	}
}

func TestZoneNameForms(t *testing.T) {
	p, _ := newSmall(t)
	for _, zone := range []string{"example.com", "example.com.", "EXAMPLE.Com.", " example.com "} {
		if _, err := p.GetRecords(context.Background(), zone); err != nil {
			t.Errorf("GetRecords(%q): %v", zone, err)
		}
	}
	for _, zone := range []string{"", ".", "../etc/passwd", "a/b", `a\b`, "exa mple.com", "a..b"} {
		if _, err := p.GetRecords(context.Background(), zone); err == nil {
			t.Errorf("GetRecords(%q): want error", zone)
		}
	}
}

// TestRewriteKeepsOtherRecords proves that a write changes only what was asked
// for: every other record of the parsed zone is byte-identical, the SOA apart
// from its serial too.
func TestRewriteKeepsOtherRecords(t *testing.T) {
	p, path := newRealistic(t)
	ctx := context.Background()
	before, err := p.GetRecords(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	oldSerial, oldLines := splitSOA(t, fileRecords(t, path))

	added := libdns.TXT{Name: "_mta-sts", TTL: 5 * time.Minute, Text: "v=STSv1; id=20260314"}
	if _, err := p.AppendRecords(ctx, "example.com", []libdns.Record{added}); err != nil {
		t.Fatal(err)
	}

	newSerial, newLines := splitSOA(t, fileRecords(t, path))
	if oldSerial != 2024010101 || newSerial != 2026031400 {
		t.Errorf("serial %d -> %d, want 2024010101 -> 2026031400", oldSerial, newSerial)
	}
	addedLine := mustRR(t, `_mta-sts.example.com. 300 IN TXT "v=STSv1; id=20260314"`)
	for l := range oldLines {
		if !newLines[l] {
			t.Errorf("record lost or changed by rewrite: %s", l)
		}
	}
	for l := range newLines {
		if !oldLines[l] && l != addedLine {
			t.Errorf("unexpected record after rewrite: %s", l)
		}
	}
	if !newLines[addedLine] {
		t.Errorf("added record missing: %s", addedLine)
	}

	after, err := p.GetRecords(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	// Callers see the same records apart from the SOA serial and the new one.
	wantAfter := slices.Clone(rrs(before))
	wantAfter[0].Data = strings.Replace(wantAfter[0].Data, "2024010101", "2026031400", 1)
	wantAfter = append(wantAfter, added.RR())
	sortRR := cmpopts.SortSlices(func(a, b libdns.RR) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
	if diff := cmp.Diff(wantAfter, rrs(after), sortRR); diff != "" {
		t.Errorf("records after append (-want +got):\n%s", diff)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if lines[0]+"\n" != header {
		t.Errorf("first line = %q, want the header comment", lines[0])
	}
	if !strings.Contains(lines[1], "\tSOA\t") || !strings.Contains(lines[2], "\tNS\t") || !strings.Contains(lines[3], "\tNS\t") {
		t.Errorf("want SOA then NS first, got:\n%s", data)
	}
}

func TestTXTEscapingAndSplitting(t *testing.T) {
	p, path := newSmall(t)
	ctx := context.Background()
	text := `quote " backslash \ \000 not-an-escape café ☃ ctl` + "\x01\x7f" + strings.Repeat("0123456789", 60)
	if _, err := p.SetRecords(ctx, "example.com", []libdns.Record{libdns.TXT{Name: "_t", Text: text}}); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"quote \" backslash \\ \\000 not-an-escape caf\195\169 \226\152\131 ctl\001\127`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("zone file lacks %s:\n%s", want, data)
		}
	}
	var found bool
	for _, rr := range fileRecords(t, path) {
		txt, ok := rr.(*dns.TXT)
		if !ok || txt.Hdr.Name != "_t.example.com." {
			continue
		}
		found = true
		if len(txt.Txt) != 3 {
			t.Errorf("got %d character-strings, want 3", len(txt.Txt))
		}
		var joined string
		for _, s := range txt.Txt {
			if n := len(dnstext.Unescape(s)); n > 255 {
				t.Errorf("character-string of %d bytes", n)
			}
			joined += dnstext.Unescape(s)
		}
		if joined != text {
			t.Errorf("text in file = %q, want %q", joined, text)
		}
	}
	if !found {
		t.Fatal("TXT record not in file")
	}

	got, err := p.GetRecords(ctx, "example.com.")
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	for _, r := range got {
		if txt, ok := r.(libdns.TXT); ok && txt.Name == "_t" {
			back = append(back, txt.Text)
		}
	}
	if diff := cmp.Diff([]string{text}, back); diff != "" {
		t.Errorf("text read back (-want +got):\n%s", diff)
	}
}

func TestChanges(t *testing.T) {
	type op int
	const (
		appendOp op = iota
		setOp
		deleteOp
	)
	tests := []struct {
		name    string
		op      op
		in      []libdns.Record
		want    []libdns.Record // what the call returns
		added   []string        // records new in the zone
		removed []string        // records gone from the zone
	}{
		{
			name:  "append joins RRset and takes its TTL",
			op:    appendOp,
			in:    []libdns.Record{libdns.Address{Name: "@", IP: netip.MustParseAddr("192.0.2.3")}},
			want:  []libdns.Record{libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.3")}},
			added: []string{"example.com. 3600 IN A 192.0.2.3"},
		},
		{
			name: "append skips exact duplicates, in the zone and in the input",
			op:   appendOp,
			in: []libdns.Record{
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.1")},
				libdns.TXT{Name: "_smtp._tls", TTL: 5 * time.Minute, Text: "v=TLSRPTv1; rua=mailto:tls@example.com"},
				libdns.TXT{Name: "_smtp._tls", TTL: 5 * time.Minute, Text: "v=TLSRPTv1; rua=mailto:tls@example.com"},
			},
			want:  []libdns.Record{libdns.TXT{Name: "_smtp._tls", TTL: 5 * time.Minute, Text: "v=TLSRPTv1; rua=mailto:tls@example.com"}},
			added: []string{`_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com"`},
		},
		{
			name: "append takes FQDN names and absolute targets without dot",
			op:   appendOp,
			in: []libdns.Record{
				libdns.CNAME{Name: "WWW.example.com.", TTL: time.Minute, Target: "web.example.net"},
				libdns.MX{Name: "@", TTL: time.Hour, Preference: 20, Target: "backup.example.net"},
			},
			want: []libdns.Record{
				libdns.CNAME{Name: "WWW", TTL: time.Minute, Target: "web.example.net."},
				libdns.MX{Name: "@", TTL: time.Hour, Preference: 20, Target: "backup.example.net."},
			},
			added: []string{"WWW.example.com. 60 IN CNAME web.example.net.", "example.com. 3600 IN MX 20 backup.example.net."},
		},
		{
			name:    "set replaces the whole RRset and nothing else (libdns example 1)",
			op:      setOp,
			in:      []libdns.Record{libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.3")}},
			want:    []libdns.Record{libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.3")}},
			added:   []string{"example.com. 3600 IN A 192.0.2.3"},
			removed: []string{"example.com. 3600 IN A 192.0.2.1", "example.com. 3600 IN A 192.0.2.2"},
		},
		{
			name: "set keeps members named in the input (libdns example 2)",
			op:   setOp,
			in: []libdns.Record{
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.1")},
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.5")},
			},
			want: []libdns.Record{
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.1")},
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.5")},
			},
			added:   []string{"example.com. 3600 IN A 192.0.2.5"},
			removed: []string{"example.com. 3600 IN A 192.0.2.2"},
		},
		{
			name:    "set TXT replaces every TXT at the name, zero TTL keeps the RRset's",
			op:      setOp,
			in:      []libdns.Record{libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=2"}},
			want:    []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: 5 * time.Minute, Text: "v=STSv1; id=2"}},
			added:   []string{`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=2"`},
			removed: []string{`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`, `_mta-sts.example.com. 300 IN TXT "unrelated"`},
		},
		{
			name:    "set replaces a CNAME",
			op:      setOp,
			in:      []libdns.Record{libdns.CNAME{Name: "mta-sts", TTL: time.Hour, Target: "mx.example.net."}},
			want:    []libdns.Record{libdns.CNAME{Name: "mta-sts", TTL: time.Hour, Target: "mx.example.net."}},
			added:   []string{"mta-sts.example.com. 3600 IN CNAME mx.example.net."},
			removed: []string{"mta-sts.example.com. 3600 IN CNAME mail.example.com."},
		},
		{
			name: "set with what is there changes nothing",
			op:   setOp,
			in:   []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "hello world"}},
			want: []libdns.Record{libdns.TXT{Name: "@", TTL: time.Hour, Text: "hello world"}},
		},
		{
			name:    "delete exact record",
			op:      deleteOp,
			in:      []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: 5 * time.Minute, Text: "v=STSv1; id=1"}},
			want:    []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: 5 * time.Minute, Text: "v=STSv1; id=1"}},
			removed: []string{`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`},
		},
		{
			name: "delete with empty data removes the RRset",
			op:   deleteOp,
			in:   []libdns.Record{libdns.RR{Name: "@", Type: "A"}},
			want: []libdns.Record{
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.1")},
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.2")},
			},
			removed: []string{"example.com. 3600 IN A 192.0.2.1", "example.com. 3600 IN A 192.0.2.2"},
		},
		{
			name: "delete with empty type removes the name but never the SOA",
			op:   deleteOp,
			in:   []libdns.Record{libdns.RR{Name: "@"}},
			want: []libdns.Record{
				libdns.NS{Name: "@", TTL: time.Hour, Target: "ns1.example.com."},
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.1")},
				libdns.Address{Name: "@", TTL: time.Hour, IP: netip.MustParseAddr("192.0.2.2")},
				libdns.TXT{Name: "@", TTL: time.Hour, Text: "hello world"},
			},
			removed: []string{
				"example.com. 3600 IN NS ns1.example.com.",
				"example.com. 3600 IN A 192.0.2.1", "example.com. 3600 IN A 192.0.2.2",
				`example.com. 3600 IN TXT "hello world"`,
			},
		},
		{
			name:    "delete by name and data only, names compared without case",
			op:      deleteOp,
			in:      []libdns.Record{libdns.RR{Name: "_MTA-STS", Data: "unrelated"}},
			want:    []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: 5 * time.Minute, Text: "unrelated"}},
			removed: []string{`_mta-sts.example.com. 300 IN TXT "unrelated"`},
		},
		{
			name: "delete with a different TTL matches nothing",
			op:   deleteOp,
			in:   []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: time.Hour, Text: "v=STSv1; id=1"}},
			want: []libdns.Record{},
		},
		{
			name: "delete of a missing record is silently ignored",
			op:   deleteOp,
			in:   []libdns.Record{libdns.CNAME{Name: "nothing", Target: "x.example.com."}},
			want: []libdns.Record{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, path := newSmall(t)
			ctx := context.Background()
			beforeData, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, before := splitSOA(t, fileRecords(t, path))

			var got []libdns.Record
			switch tt.op {
			case appendOp:
				got, err = p.AppendRecords(ctx, "example.com", tt.in)
			case setOp:
				got, err = p.SetRecords(ctx, "example.com", tt.in)
			case deleteOp:
				got, err = p.DeleteRecords(ctx, "example.com", tt.in)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, append(cmpOpts, cmpopts.EquateEmpty())...); diff != "" {
				t.Errorf("returned records (-want +got):\n%s", diff)
			}

			serial, after := splitSOA(t, fileRecords(t, path))
			var gotAdded, gotRemoved, wantAdded, wantRemoved []string
			for l := range after {
				if !before[l] {
					gotAdded = append(gotAdded, l)
				}
			}
			for l := range before {
				if !after[l] {
					gotRemoved = append(gotRemoved, l)
				}
			}
			for _, s := range tt.added {
				wantAdded = append(wantAdded, mustRR(t, s))
			}
			for _, s := range tt.removed {
				wantRemoved = append(wantRemoved, mustRR(t, s))
			}
			sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
			if diff := cmp.Diff(wantAdded, gotAdded, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("added to zone (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantRemoved, gotRemoved, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("removed from zone (-want +got):\n%s", diff)
			}

			changed := len(tt.added)+len(tt.removed) > 0
			switch {
			case changed && serial != 2:
				t.Errorf("serial = %d, want 2 after a change", serial)
			case !changed:
				afterData, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if string(afterData) != string(beforeData) {
					t.Errorf("a call that changes nothing rewrote the file")
				}
			}
		})
	}
}

func TestCNAMEBesideDataRefused(t *testing.T) {
	tests := []struct {
		name    string
		op      func(*Provider, context.Context, string, []libdns.Record) ([]libdns.Record, error)
		in      libdns.Record
		wantErr string
	}{
		{"append CNAME at a name with TXT", (*Provider).AppendRecords,
			libdns.CNAME{Name: "_mta-sts", Target: "_mta-sts.example.net."}, `_mta-sts CNAME "_mta-sts.example.net."`},
		{"set CNAME at a name with TXT", (*Provider).SetRecords,
			libdns.CNAME{Name: "_mta-sts", Target: "_mta-sts.example.net."}, "already holds TXT data"},
		{"append TXT beside a CNAME", (*Provider).AppendRecords,
			libdns.TXT{Name: "mta-sts", Text: "v=STSv1; id=1"}, `mta-sts TXT "v=STSv1; id=1"`},
		{"set A beside a CNAME", (*Provider).SetRecords,
			libdns.Address{Name: "mta-sts", IP: netip.MustParseAddr("192.0.2.9")}, "is a CNAME (to mail.example.com.)"},
		{"append a second CNAME", (*Provider).AppendRecords,
			libdns.CNAME{Name: "mta-sts", Target: "other.example.com."}, "only one"},
		{"CNAME at the apex", (*Provider).SetRecords,
			libdns.CNAME{Name: "@", Target: "other.example.com."}, "already holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, path := newSmall(t)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tt.op(p, context.Background(), "example.com", []libdns.Record{tt.in})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("err = %v, want refusal mentioning %q", err, tt.wantErr)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Error("refused change still modified the zone file")
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name    string
		in      libdns.Record
		wantErr string
	}{
		{"empty name", libdns.TXT{Text: "x"}, `use "@"`},
		{"SOA", libdns.RR{Name: "@", Type: "SOA", Data: "a. b. 1 2 3 4 5"}, "SOA is kept"},
		{"outside zone", libdns.TXT{Name: "www.example.org.", Text: "x"}, "outside zone"},
		{"bad address", libdns.RR{Name: "x", Type: "A", Data: "not-an-ip"}, "invalid data"},
		{"unknown type", libdns.RR{Name: "x", Type: "BOGUS", Data: "1"}, "unknown record type"},
		{"no type", libdns.RR{Name: "x", Data: "1"}, "no type"},
		{"line break", libdns.RR{Name: "x", Type: "A", Data: "192.0.2.1\nevil 1 IN A 192.0.2.66"}, "line break"},
		{"negative TTL", libdns.TXT{Name: "x", TTL: -time.Second, Text: "x"}, "negative TTL"},
		{"space in name", libdns.TXT{Name: "a b", Text: "x"}, "invalid character"},
		{"no data", libdns.RR{Name: "x", Type: "A"}, "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, path := newSmall(t)
			before, _ := os.ReadFile(path)
			_, err := p.AppendRecords(context.Background(), "example.com", []libdns.Record{tt.in})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file %s", err, path)
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(before) {
				t.Error("rejected input modified the zone file")
			}
		})
	}
}

func TestNextSerial(t *testing.T) {
	tests := []struct {
		name string
		old  uint32
		want uint32
	}{
		{"date-style, older day", 2024010101, 2026031400},
		{"date-style, today", 2026031400, 2026031401},
		{"date-style, today's last number rolls into tomorrow", 2026031499, 2026031500},
		{"date-style, future date", 2027010100, 2027010101},
		{"plain", 1, 2},
		{"plain, large", 1700000000, 1700000001},
		{"invalid date is plain", 2026023000, 2026023001},
		{"RFC 1982 wrap", 4294967295, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextSerial(tt.old, fixedNow)
			if got != tt.want {
				t.Errorf("nextSerial(%d) = %d, want %d", tt.old, got, tt.want)
			}
			// RFC 1982: the new serial must be greater than the old one.
			if d := got - tt.old; d == 0 || d >= 1<<31 {
				t.Errorf("nextSerial(%d) = %d is not an RFC 1982 increase", tt.old, got)
			}
		})
	}
}

func TestConcurrentAppendLosesNothing(t *testing.T) {
	p, path := newSmall(t)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := p.AppendRecords(ctx, "example.com", []libdns.Record{
				libdns.TXT{Name: "_conc", TTL: time.Minute, Text: fmt.Sprintf("writer=%d", i)},
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	recs, err := p.GetRecords(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if txt, ok := r.(libdns.TXT); ok && txt.Name == "_conc" {
			got = append(got, txt.Text)
		}
	}
	if len(got) != n {
		t.Errorf("%d of %d concurrently appended records in the zone: %v", len(got), n, got)
	}
	if serial, _ := splitSOA(t, fileRecords(t, path)); serial != 1+n {
		t.Errorf("serial = %d, want %d (one bump per write)", serial, 1+n)
	}
}

func TestAtomicWriteKeepsModeAndLeavesNoTempFiles(t *testing.T) {
	p, path := newSmall(t)
	ctx := context.Background()
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := p.SetRecords(ctx, "example.com", []libdns.Record{libdns.TXT{Name: "_x", Text: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// The lock file stays: it is the documented place other programs lock.
	if diff := cmp.Diff([]string{"example.com.zone", "example.com.zone.lock"}, names); diff != "" {
		t.Errorf("directory after writes (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640 kept", fi.Mode().Perm())
	}
}

func TestBadZoneFile(t *testing.T) {
	const soa = "@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n"
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"bad address", "$TTL 3600\n" + soa + "www IN A 192.0.2\n", []string{"line: 3", "bad A"}},
		{"unterminated quote", "$TTL 3600\n" + soa + "\nx IN TXT \"open\n", []string{"line: 4"}},
		{"include refused", "$TTL 3600\n" + soa + "$INCLUDE /etc/passwd\n", []string{"line: 3", "$INCLUDE"}},
		{"no SOA", "$TTL 3600\nwww IN A 192.0.2.1\n", []string{"no SOA"}},
		{"two SOAs", "$TTL 3600\n" + soa + soa, []string{"more than one SOA"}},
		{"SOA off the apex", "$TTL 3600\nsub " + soa[2:], []string{"not at the zone apex"}},
		{"record without data", "$TTL 3600\n" + soa + "www IN A\n", []string{"www.example.com. A has no data"}},
		{"first record without owner", "$TTL 3600\n IN TXT \"x\"\n" + soa, []string{"no owner name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeZone(t, dir, "example.com.zone", tt.text)
			p := New(dir)
			_, err := p.GetRecords(context.Background(), "example.com")
			if err == nil {
				t.Fatal("want error")
			}
			for _, want := range append(tt.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if _, err := p.AppendRecords(context.Background(), "example.com", []libdns.Record{libdns.TXT{Name: "x", Text: "y"}}); err == nil {
				t.Error("append to a broken zone succeeded")
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		_, err := New(dir).GetRecords(context.Background(), "example.com")
		want := "zone file " + filepath.Join(dir, "example.com.zone") + " not found: create it with at least an SOA record"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
}

func TestListZones(t *testing.T) {
	dir := t.TempDir()
	writeZone(t, dir, "example.com.zone", smallZone)
	writeZone(t, dir, "Example.ORG.zone", smallZone)
	writeZone(t, dir, "notes.txt", "x")
	writeZone(t, dir, ".zone", "x")
	if err := os.Mkdir(filepath.Join(dir, "dir.zone"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := New(dir).ListZones(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []libdns.Zone{{Name: "example.org."}, {Name: "example.com."}}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b libdns.Zone) bool { return a.Name < b.Name })); diff != "" {
		t.Errorf("ListZones (-want +got):\n%s", diff)
	}
}

func TestCanceledContext(t *testing.T) {
	p, path := newSmall(t)
	before, _ := os.ReadFile(path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	recs := []libdns.Record{libdns.TXT{Name: "x", Text: "y"}}
	calls := map[string]func() error{
		"GetRecords":    func() error { _, err := p.GetRecords(ctx, "example.com"); return err },
		"AppendRecords": func() error { _, err := p.AppendRecords(ctx, "example.com", recs); return err },
		"SetRecords":    func() error { _, err := p.SetRecords(ctx, "example.com", recs); return err },
		"DeleteRecords": func() error { _, err := p.DeleteRecords(ctx, "example.com", recs); return err },
		"ListZones":     func() error { _, err := p.ListZones(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with a canceled context: want error", name)
		}
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Error("canceled calls modified the zone file")
	}
}

func TestNoDirectory(t *testing.T) {
	var p Provider
	if _, err := p.GetRecords(context.Background(), "example.com"); err == nil || !strings.Contains(err.Error(), "Directory is not set") {
		t.Errorf("err = %v, want Directory is not set", err)
	}
}

func FuzzReadZone(f *testing.F) {
	f.Add(fmt.Sprintf(realisticZone, dkimKey[:200], dkimKey[200:]))
	f.Add(smallZone)
	f.Add("$TTL 3600\n@ IN SOA a. b. 1 2 3 4 5\nx IN TXT \"a\\\\\" \"\\195\\169\" \\\"\n")
	f.Add("@ IN SOA a. b. 1 2 3 4 5\nx IN TYPE65534 \\# 2 abcd\ny CH TXT hi\nz.example.org. IN A 192.0.2.1\n")
	f.Add("$INCLUDE x\n")
	f.Add("@ 1 IN SOA a. b. ( 1 2 3\n")
	f.Fuzz(func(t *testing.T, text string) {
		records, err := parseZone([]byte(text), "example.com.", "fuzz.zone")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.zone") {
				t.Errorf("parse error does not name the file: %v", err)
			}
			return
		}
		z := &zoneData{origin: "example.com.", path: "fuzz.zone", records: records}
		if z.findSOA() != nil {
			return
		}
		_ = z.export(z.records)
		// What the provider would write must read back to the same records;
		// save refuses to write otherwise, but that refusal should not happen.
		sorted := z.sorted()
		back, err := parseZone(render(sorted), z.origin, z.path)
		if err != nil {
			t.Fatalf("rendered zone does not parse: %v", err)
		}
		if !sameText(sorted, back) {
			t.Fatalf("rendered zone reads back differently")
		}
	})
}

// BenchmarkAppendLargeZone measures one write to a 10,000-record zone: read,
// check, render, verify and atomic replace.
func BenchmarkAppendLargeZone(b *testing.B) {
	var zone strings.Builder
	zone.WriteString(smallZone)
	for i := range 10000 {
		fmt.Fprintf(&zone, "host%d IN A 192.0.%d.%d\nhost%d IN TXT \"v=spf1 -all %d\"\n", i, i/256%256, i%256, i, i)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "example.com.zone"), []byte(zone.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	p := New(dir)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		rec := libdns.TXT{Name: "_mta-sts", Text: fmt.Sprintf("v=STSv1; id=%d", i)}
		if _, err := p.SetRecords(ctx, "example.com", []libdns.Record{rec}); err != nil {
			b.Fatal(err)
		}
	}
}
