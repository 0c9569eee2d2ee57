package hetznerfake

// These tests swap http.DefaultTransport (the pinned client offers no other
// way in), so none of them may use t.Parallel.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/libdns/hetzner/v2"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const (
	testToken = "hz-test-token"
	zoneName  = "example.com."
)

var apexLines = []string{
	"example.com. 3600 IN SOA hydrogen.ns.hetzner.com. dns.hetzner.com. 2024010101 86400 10800 3600000 3600",
	"example.com. 3600 IN NS hydrogen.ns.hetzner.com.",
	"example.com. 3600 IN NS oxygen.ns.hetzner.com.",
	"example.com. 3600 IN NS helium.ns.hetzner.de.",
}

func newFake(t *testing.T, opts fakeapi.Options) *Server {
	t.Helper()
	s := New(testToken, opts)
	t.Cleanup(s.Close)
	t.Cleanup(s.UseAsDefaultTransport())
	s.AddZone(zoneName)
	return s
}

// canon returns the canonical dump of lines plus the apex records every
// Hetzner zone has.
func canon(t *testing.T, lines ...string) []string {
	t.Helper()
	var out []string
	for _, l := range append(slices.Clone(apexLines), lines...) {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("bad test line %q: %v", l, err)
		}
		out = append(out, rr.String())
	}
	slices.Sort(out)
	return out
}

func TestGetRecordsPagesAndCountsRequests(t *testing.T) {
	for _, n := range []int{0, 48, 49, 120} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			lines := make([]string, n)
			for i := range lines {
				lines[i] = fmt.Sprintf("h%03d.example.com. 300 IN A 192.0.2.%d", i, i%250+1)
			}
			if err := s.Seed(zoneName, lines...); err != nil {
				t.Fatal(err)
			}
			recs, err := s.Provider().GetRecords(context.Background(), zoneName)
			if err != nil {
				t.Fatal(err)
			}
			if want := n + 4; len(recs) != want { // + SOA + 3 NS
				t.Fatalf("got %d records, want %d", len(recs), want)
			}
			rrsets := n + 2
			want := map[string]int{"GET zone": 1, "GET read": (rrsets + 49) / 50}
			if diff := cmp.Diff(want, s.Middleware().Counts()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendSetDeleteRequestBudget(t *testing.T) {
	ctx := context.Background()
	s := newFake(t, fakeapi.Options{})
	p := s.Provider()
	mw := s.Middleware()
	steps := []struct {
		name string
		do   func() error
		want map[string]int
		dump []string
	}{
		{
			name: "append one TXT",
			do: func() error {
				_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=1", TTL: 5 * time.Minute}})
				return err
			},
			want: map[string]int{"POST write": 1},
			dump: []string{`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`},
		},
		{
			name: "set one RRset that exists",
			do: func() error {
				_, err := p.SetRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=2", TTL: 30 * time.Second}})
				return err
			},
			want: map[string]int{"DELETE write": 1, "POST write": 1},
			dump: []string{`_mta-sts.example.com. 60 IN TXT "v=STSv1; id=2"`},
		},
		{
			name: "set one RRset of two values that does not exist",
			do: func() error {
				_, err := p.SetRecords(ctx, zoneName, []libdns.Record{
					libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.1"), TTL: time.Hour},
					libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.2"), TTL: time.Hour},
				})
				return err
			},
			want: map[string]int{"DELETE write": 1, "POST write": 1},
			dump: []string{
				`_mta-sts.example.com. 60 IN TXT "v=STSv1; id=2"`,
				`mail.example.com. 3600 IN A 192.0.2.1`,
				`mail.example.com. 3600 IN A 192.0.2.2`,
			},
		},
		{
			name: "delete one record",
			do: func() error {
				got, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{libdns.Address{Name: "mail", IP: netip.MustParseAddr("192.0.2.1")}})
				if err == nil && len(got) != 1 {
					err = fmt.Errorf("deleted %d records, want 1", len(got))
				}
				return err
			},
			want: map[string]int{"POST write": 1},
			dump: []string{
				`_mta-sts.example.com. 60 IN TXT "v=STSv1; id=2"`,
				`mail.example.com. 3600 IN A 192.0.2.2`,
			},
		},
		{
			name: "delete the last record of an RRset, then one that is not there",
			do: func() error {
				got, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{
					libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=2"},
					libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=2"},
				})
				if err == nil && len(got) != 1 {
					err = fmt.Errorf("deleted %d records, want 1", len(got))
				}
				return err
			},
			want: map[string]int{"POST write": 2},
			dump: []string{`mail.example.com. 3600 IN A 192.0.2.2`},
		},
	}
	for _, st := range steps {
		mw.ResetCounts()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, mw.Counts()); diff != "" {
			t.Errorf("%s: requests (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(canon(t, st.dump...), s.Dump(zoneName)); diff != "" {
			t.Errorf("%s: zone (-want +got):\n%s", st.name, diff)
		}
	}
}

// The pinned client dereferences a nil TTL when an RRset of two or more
// records is set with TTL 0: callers must give a TTL.
func TestSetRecordsWithoutTTLPanicsInClient(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	defer func() {
		if recover() == nil {
			t.Error("SetRecords of two TTL-0 records did not panic; the client changed, update the callers' workaround")
		}
	}()
	_, _ = s.Provider().SetRecords(context.Background(), zoneName, []libdns.Record{
		libdns.TXT{Name: "two", Text: "a"},
		libdns.TXT{Name: "two", Text: "b"},
	})
}

func TestTXTValues(t *testing.T) {
	cases := []struct {
		name, text string
		// read is what GetRecords returns; "" with wantErr set means the
		// API refuses the value.
		read, dump string
		wantErr    bool
	}{
		{name: "mta-sts", text: "v=STSv1; id=20240101T000000", read: "v=STSv1; id=20240101T000000", dump: `"v=STSv1; id=20240101T000000"`},
		// The client wraps in quotes without escaping: a backslash reads
		// back unchanged but DNS serves the escape resolved.
		{name: "backslash", text: `back\slash`, read: `back\slash`, dump: `"backslash"`},
		{name: "escaped backslash", text: `back\\slash`, read: `back\\slash`, dump: `"back\\slash"`},
		{name: "quote inside", text: `a"b`, wantErr: true},
		{name: "longer than 255 bytes", text: strings.Repeat("x", 300), wantErr: true},
		{name: "already quoted strings", text: `"` + strings.Repeat("x", 255) + `" "` + strings.Repeat("y", 45) + `"`,
			read: strings.Repeat("x", 255) + `" "` + strings.Repeat("y", 45), dump: `"` + strings.Repeat("x", 255) + `" "` + strings.Repeat("y", 45) + `"`},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			p := s.Provider()
			_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "t", Text: c.text, TTL: 5 * time.Minute}})
			if c.wantErr {
				if !hcloud.IsError(err, hcloud.ErrorCodeInvalidInput) {
					t.Fatalf("got %v, want invalid_input", err)
				}
				if diff := cmp.Diff(canon(t), s.Dump(zoneName)); diff != "" {
					t.Errorf("zone changed (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			recs, err := p.GetRecords(ctx, zoneName)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				if rr := r.RR(); rr.Type == "TXT" {
					got = append(got, rr.Data)
				}
			}
			if diff := cmp.Diff([]string{c.read}, got); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(canon(t, "t.example.com. 300 IN TXT "+c.dump), s.Dump(zoneName)); diff != "" {
				t.Errorf("served (-want +got):\n%s", diff)
			}
			del, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "t", Text: c.text}})
			if err != nil || len(del) != 1 {
				t.Errorf("delete: %d records, err %v; want 1, nil", len(del), err)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		seed   string
		add    libdns.Record
		method string
	}{
		{"CNAME onto TXT", `_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`, libdns.CNAME{Name: "_mta-sts", Target: "_mta-sts.example.net."}, "append"},
		{"TXT onto CNAME", `_mta-sts.example.com. 300 IN CNAME _mta-sts.example.net.`, libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=1", TTL: 300 * time.Second}, "append"},
		{"set TXT onto CNAME", `_mta-sts.example.com. 300 IN CNAME _mta-sts.example.net.`, libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=1"}, "set"},
		{"CNAME at the apex", "", libdns.CNAME{Name: "@", Target: "mail.example.net."}, "append"},
		{"second CNAME value", `mta-sts.example.com. 300 IN CNAME a.example.net.`, libdns.CNAME{Name: "mta-sts", Target: "b.example.net.", TTL: 300 * time.Second}, "append"},
		{"TTL differing from the RRset's", `_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`, libdns.TXT{Name: "_mta-sts", Text: "v=STSv1; id=2", TTL: time.Hour}, "append"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			if c.seed != "" {
				if err := s.Seed(zoneName, c.seed); err != nil {
					t.Fatal(err)
				}
			}
			before := s.Dump(zoneName)
			var err error
			if c.method == "set" {
				_, err = s.Provider().SetRecords(ctx, zoneName, []libdns.Record{c.add})
			} else {
				_, err = s.Provider().AppendRecords(ctx, zoneName, []libdns.Record{c.add})
			}
			if !hcloud.IsError(err, hcloud.ErrorCodeInvalidInput) {
				t.Errorf("got %v, want invalid_input", err)
			}
			if c.method != "set" {
				if diff := cmp.Diff(before, s.Dump(zoneName)); diff != "" {
					t.Errorf("zone changed (-before +after):\n%s", diff)
				}
			}
		})
	}
}

func TestSeedDumpConsistency(t *testing.T) {
	lines := []string{
		"example.com. 3600 IN MX 10 mail.example.com.",
		`example.com. 300 IN TXT "v=spf1 mx -all"`,
		"mail.example.com. 300 IN A 192.0.2.25",
		"mail.example.com. 300 IN AAAA 2001:db8::25",
		"mta-sts.example.com. 300 IN CNAME mail.example.com.",
		`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`,
		`_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com"`,
		`example.com. 300 IN CAA 0 issue "letsencrypt.org"`,
		"_imaps._tcp.example.com. 300 IN SRV 0 1 993 mail.example.com.",
		"sub.example.com. 300 IN NS ns1.example.net.",
		`long.example.com. 300 IN TXT "` + strings.Repeat("z", 300) + `"`,
	}
	src := newFake(t, fakeapi.Options{})
	if err := src.Seed(zoneName, lines...); err != nil {
		t.Fatal(err)
	}
	want := canon(t, lines...)
	if diff := cmp.Diff(want, src.Dump(zoneName)); diff != "" {
		t.Fatalf("Dump after Seed (-want +got):\n%s", diff)
	}
	ctx := context.Background()
	recs, err := src.Provider().GetRecords(ctx, zoneName)
	if err != nil {
		t.Fatal(err)
	}
	// Copy through the client into a second fake; SOA is Hetzner's own.
	recs = slices.DeleteFunc(recs, func(r libdns.Record) bool { return r.RR().Type == "SOA" })
	dst := New(testToken, fakeapi.Options{})
	t.Cleanup(dst.Close)
	dst.AddZone(zoneName)
	http.DefaultTransport = dst.Transport() // restored by newFake's cleanup
	if _, err := hetzner.New(testToken).AppendRecords(ctx, zoneName, recs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dst.Dump(zoneName)); diff != "" {
		t.Errorf("Dump after copying through the client (-want +got):\n%s", diff)
	}
}

func TestSeedRejects(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	for _, lines := range [][]string{
		{"www.example.org. 300 IN A 192.0.2.1"},
		{"not a record"},
		{"www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN CNAME x.example.net."},
		{"ttl.example.com. 300 IN A 192.0.2.1", "ttl.example.com. 600 IN A 192.0.2.2"},
	} {
		if err := s.Seed(zoneName, lines...); err == nil {
			t.Errorf("Seed(%q) succeeded, want an error", lines)
		}
	}
}

func TestSeedRawKeepsLegacyForms(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	if err := s.SeedRaw(zoneName, "_mta-sts", "TXT", 0, "v=STSv1; id=legacy"); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Provider().GetRecords(context.Background(), zoneName)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if rr := r.RR(); rr.Name == "_mta-sts" && rr.Data == "v=STSv1; id=legacy" && rr.TTL == time.Hour {
			found = true
		}
	}
	if !found {
		t.Errorf("legacy record not read back as stored: %+v", recs)
	}
}

func TestFaultsSurfaceAsErrors(t *testing.T) {
	cases := []struct {
		name     string
		fault    fakeapi.Fault
		check    func(error) bool
		requests int // hcloud-go retries 429 and 502, but the context ends first
	}{
		{"429 with Retry-After", fakeapi.Fault{Status: 429, Body: ThrottledBody, RetryAfter: "1", Times: 1},
			func(err error) bool { return hcloud.IsError(err, hcloud.ErrorCodeRateLimitExceeded) }, 1},
		{"500", fakeapi.Fault{Status: 500, Body: `{"error":{"code":"server_error","message":"internal server error","details":{}}}`, Times: 1},
			func(err error) bool { return hcloud.IsError(err, hcloud.ErrorCodeServerError) }, 1},
		{"HTML 502", fakeapi.Fault{Status: 502, ContentType: "text/html", Body: "<html><body><h1>502 Bad Gateway</h1></body></html>", Times: 1},
			func(err error) bool {
				return errors.Is(err, hcloud.ErrStatusCode) && strings.Contains(err.Error(), "502")
			}, 1},
		{"hang", fakeapi.Fault{Hang: true, Times: 1},
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }, 1},
		// Times 0: net/http retries a GET once by itself when a reused
		// connection closes without an answer.
		{"connection reset", fakeapi.Fault{Reset: true},
			func(err error) bool { return err != nil }, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			s.Middleware().AddFault(c.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := s.Provider().GetRecords(ctx, zoneName)
			if err == nil || !c.check(err) {
				t.Fatalf("got error %v, not the one expected", err)
			}
			if c.requests >= 0 && s.Middleware().Total() != c.requests {
				t.Errorf("%d requests (%s), want %d", s.Middleware().Total(), s.Middleware(), c.requests)
			}
			s.Middleware().ClearFaults()
			if _, err := s.Provider().GetRecords(context.Background(), zoneName); err != nil {
				t.Errorf("after the fault: %v", err)
			}
		})
	}
}

func TestRateLimitAnswersLikeHetzner(t *testing.T) {
	s := New(testToken, fakeapi.Options{RateLimit: 0.001, Burst: 1})
	t.Cleanup(s.Close)
	t.Cleanup(s.UseAsDefaultTransport())
	s.AddZone(zoneName)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.Provider().GetRecords(ctx, zoneName)
	if !hcloud.IsError(err, hcloud.ErrorCodeRateLimitExceeded) {
		t.Fatalf("got %v, want rate_limit_exceeded", err)
	}
	req, _ := http.NewRequest("GET", "https://api.hetzner.cloud/v1/zones", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("Content-Type") != "application/json" || string(body) != ThrottledBody {
		t.Errorf("throttled answer: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestAuthAndZoneErrors(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	ctx := context.Background()
	if _, err := hetzner.New("wrong").GetRecords(ctx, zoneName); !hcloud.IsError(err, hcloud.ErrorCodeUnauthorized) {
		t.Errorf("wrong token: got %v, want unauthorized", err)
	}
	if _, err := s.Provider().GetRecords(ctx, "missing.example."); err == nil || !strings.Contains(err.Error(), "not found at Hetzner") {
		t.Errorf("unknown zone: got %v", err)
	}
	if _, err := s.Provider().AppendRecords(ctx, "missing.example.", []libdns.Record{libdns.TXT{Name: "x", Text: "y"}}); !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
		t.Errorf("append to unknown zone: got %v, want not_found", err)
	}
}

func TestListZonesAndActions(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	s.AddZone("example.net")
	ctx := context.Background()
	zones, err := s.Provider().ListZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]libdns.Zone{{Name: "example.com"}, {Name: "example.net"}}, zones); diff != "" {
		t.Errorf("zones (-want +got):\n%s", diff)
	}
	if _, err := s.Provider().AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "x", Text: "y"}}); err != nil {
		t.Fatal(err)
	}
	client := hcloud.NewClient(hcloud.WithToken(testToken))
	actions, err := client.Action.AllWithOpts(ctx, hcloud.ActionListOpts{ID: []int64{1}})
	if err != nil || len(actions) != 1 || actions[0].Status != hcloud.ActionStatusSuccess {
		t.Errorf("action poll: %+v, %v", actions, err)
	}
}

func FuzzParseCharStrings(f *testing.F) {
	for _, s := range []string{`"v=STSv1; id=1"`, `"a" "b"`, `"a\"b"`, `"\065\066"`, `"unterminated`, `plain`, `"a""b"`, `"\`, `""`, `"\999"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := parseCharStrings(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for i, p := range parts {
			if len(p) > maxTXTString {
				t.Fatalf("accepted a %d-byte string from %q", len(p), s)
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('"')
			for j := 0; j < len(p); j++ {
				fmt.Fprintf(&b, "\\%03d", p[j])
			}
			b.WriteByte('"')
		}
		again, err := parseCharStrings(b.String())
		if err != nil || !slices.Equal(parts, again) {
			t.Fatalf("re-quoted %q parsed as %q, %v; want %q", b.String(), again, err, parts)
		}
	})
}
