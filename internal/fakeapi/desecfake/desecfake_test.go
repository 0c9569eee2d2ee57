package desecfake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/libdns/desec"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const (
	zoneName = "example.com."
	token    = "desec-test-token"
)

// newFake starts a fake holding example.com and points http.DefaultTransport
// at it (process-global: callers must not use t.Parallel).
func newFake(t *testing.T, opts fakeapi.Options) *Server {
	t.Helper()
	s := New(token, opts)
	t.Cleanup(s.Close)
	old := http.DefaultTransport
	http.DefaultTransport = s.Transport()
	t.Cleanup(func() { http.DefaultTransport = old })
	s.AddZone(zoneName)
	return s
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var apex = []string{
	"example.com.\t3600\tIN\tNS\tns1.desec.io.",
	"example.com.\t3600\tIN\tNS\tns2.desec.org.",
}

func withApex(lines ...string) []string {
	out := append(append([]string(nil), apex...), lines...)
	sort.Strings(out)
	return out
}

func canonical(t *testing.T, lines ...string) []string {
	t.Helper()
	out := make([]string, len(lines))
	for i, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("test data %q: %v", l, err)
		}
		out[i] = rr.String()
	}
	sort.Strings(out)
	return out
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("zone dump:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestGetRecordsReadsTheZoneInOneRequest(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	var seed []string
	for i := range 450 {
		seed = append(seed, fmt.Sprintf("h%03d.example.com. 3600 IN A 192.0.2.%d", i, i%250+1))
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Provider().GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 450+len(apex) {
		t.Errorf("got %d records, want %d", len(recs), 450+len(apex))
	}
	if got, want := s.Middleware().Counts(), map[string]int{"GET read": 1}; !sameCounts(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
}

// deSEC does not page a listing unless asked to; the client never asks, so
// a domain of more than 500 RRsets cannot be read.
func TestGetRecordsFailsPast500RRsets(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	var seed []string
	for i := range 500 {
		seed = append(seed, fmt.Sprintf("h%03d.example.com. 3600 IN A 192.0.2.1", i))
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		t.Fatal(err)
	}
	_, err := s.Provider().GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "Pagination required") {
		t.Fatalf("error %v, want 400 Pagination required", err)
	}
}

func TestCursorPaging(t *testing.T) {
	s := New(token, fakeapi.Options{})
	defer s.Close()
	var seed []string
	for i := range 700 {
		seed = append(seed, fmt.Sprintf("h%03d.example.com. 3600 IN A 192.0.2.1", i))
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		t.Fatal(err)
	}
	total := 0
	next := s.URL() + "/api/v1/domains/example.com/rrsets/?cursor="
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		status, body, hdr := do(t, s, http.MethodGet, next, "")
		if status != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, status, body)
		}
		total += strings.Count(body, `"subname"`)
		next = ""
		for _, l := range strings.Split(hdr.Get("Link"), ", ") {
			if strings.HasSuffix(l, `rel="next"`) {
				next = strings.TrimPrefix(strings.Split(l, ">")[0], "<")
			}
		}
	}
	if total != 701 {
		t.Errorf("paged %d RRsets, want 701", total)
	}
}

func TestWritesThroughClient(t *testing.T) {
	tests := []struct {
		name   string
		seed   []string
		do     func(ctx context.Context, p *desec.Provider) error
		want   []string
		counts map[string]int
	}{
		{
			name: "append creates an RRset with the client's TTL floor",
			do: func(ctx context.Context, p *desec.Provider) error {
				_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: 300 * time.Second, Text: "v=STSv1; id=1"}})
				return err
			},
			want:   []string{`_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=1"`},
			counts: map[string]int{"GET redirect": 1, "GET read-rrset": 1, "PUT write": 1},
		},
		{
			name: "append merges into an existing RRset",
			seed: []string{`_mta-sts.example.com. 7200 IN TXT "other"`},
			do: func(ctx context.Context, p *desec.Provider) error {
				_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: 300 * time.Second, Text: "v=STSv1; id=1"}})
				return err
			},
			want:   []string{`_mta-sts.example.com. 7200 IN TXT "other"`, `_mta-sts.example.com. 7200 IN TXT "v=STSv1; id=1"`},
			counts: map[string]int{"GET redirect": 1, "GET read-rrset": 1, "PUT write": 1},
		},
		{
			name: "append of a present record writes nothing",
			seed: []string{`mta-sts.example.com. 3600 IN CNAME mail.example.com.`},
			do: func(ctx context.Context, p *desec.Provider) error {
				_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.CNAME{Name: "mta-sts", TTL: time.Hour, Target: "mail.example.com."}})
				return err
			},
			want:   []string{`mta-sts.example.com. 3600 IN CNAME mail.example.com.`},
			counts: map[string]int{"GET redirect": 1, "GET read-rrset": 1},
		},
		{
			name: "delete one of two values keeps the other",
			seed: []string{`_smtp._tls.example.com. 3600 IN TXT "a"`, `_smtp._tls.example.com. 3600 IN TXT "b"`},
			do: func(ctx context.Context, p *desec.Provider) error {
				_, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_smtp._tls", Text: "a"}})
				return err
			},
			want:   []string{`_smtp._tls.example.com. 3600 IN TXT "b"`},
			counts: map[string]int{"GET redirect": 1, "GET read-rrset": 1, "PUT write": 1},
		},
		{
			name: "delete the last value deletes the RRset",
			seed: []string{`_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:a@example.com"`, `www.example.com. 3600 IN A 192.0.2.1`},
			do: func(ctx context.Context, p *desec.Provider) error {
				_, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_smtp._tls", Text: "v=TLSRPTv1; rua=mailto:a@example.com"}})
				return err
			},
			want:   []string{`www.example.com. 3600 IN A 192.0.2.1`},
			counts: map[string]int{"GET redirect": 1, "GET read-rrset": 1, "PUT write": 1},
		},
		{
			// This is why mtasts-sync never calls deSEC SetRecords: it
			// deletes every RRset it was not given, apex NS included.
			name: "set wipes every other RRset",
			seed: []string{`www.example.com. 3600 IN A 192.0.2.1`, `example.com. 3600 IN MX 10 mx.example.com.`, `_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=1"`},
			do: func(ctx context.Context, p *desec.Provider) error {
				_, err := p.SetRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_mta-sts", TTL: time.Hour, Text: "v=STSv1; id=2"}})
				return err
			},
			want:   []string{`_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=2"`},
			counts: map[string]int{"GET read": 1, "PUT write": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			if err := s.Seed(zoneName, tt.seed...); err != nil {
				t.Fatal(err)
			}
			if err := tt.do(ctxTimeout(t, 10*time.Second), s.Provider()); err != nil {
				t.Fatal(err)
			}
			want := withApex(canonical(t, tt.want...)...)
			if strings.HasPrefix(tt.name, "set") {
				want = canonical(t, tt.want...)
			}
			equalLines(t, s.Dump(zoneName), want)
			if got := s.Middleware().Counts(); !sameCounts(got, tt.counts) {
				t.Errorf("requests %v, want %v", got, tt.counts)
			}
		})
	}
}

func TestTXTRoundTrip(t *testing.T) {
	long := strings.Repeat("0123456789", 30)
	tests := []struct {
		name, text, wantRead, wantDump, wantErr string
	}{
		{name: "plain", text: "v=STSv1; id=20240101", wantRead: "v=STSv1; id=20240101", wantDump: `t.example.com. 3600 IN TXT "v=STSv1; id=20240101"`},
		{name: "quotes and backslashes", text: `"a" \ "b"`, wantRead: `"a" \ "b"`, wantDump: `t.example.com. 3600 IN TXT "\"a\" \\ \"b\""`},
		// deSEC stores a long string as 255-byte strings; the client strips
		// only the outer quotes on read, so the inner `" "` stays in the value.
		{name: "longer than 255 bytes comes back split", text: long, wantRead: long[:255] + `" "` + long[255:],
			wantDump: `t.example.com. 3600 IN TXT "` + long[:255] + `" "` + long[255:] + `"`},
		// deSEC shows non-ASCII bytes as \DDD, which the client refuses.
		{name: "non-ascii breaks the client's read", text: "exämple", wantDump: `t.example.com. 3600 IN TXT "ex\195\164mple"`, wantErr: "invalid escape sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			p := s.Provider()
			ctx := ctxTimeout(t, 10*time.Second)
			if _, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "t", TTL: time.Hour, Text: tt.text}}); err != nil {
				t.Fatal(err)
			}
			equalLines(t, s.Dump(zoneName), withApex(canonical(t, tt.wantDump)...))
			recs, err := p.GetRecords(ctx, zoneName)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				if rr := r.RR(); rr.Name == "t" {
					got = append(got, rr.Data)
				}
			}
			if len(got) != 1 || got[0] != tt.wantRead {
				t.Errorf("read back %q, want [%q]", got, tt.wantRead)
			}
		})
	}
}

func TestCNAMEExclusivity(t *testing.T) {
	tests := []struct {
		name    string
		seed    []string
		add     libdns.Record
		wantErr string
	}{
		{"CNAME beside TXT", []string{`mta-sts.example.com. 3600 IN TXT "x"`},
			libdns.CNAME{Name: "mta-sts", TTL: time.Hour, Target: "mail.example.com."},
			"RRset with conflicting type present: database (TXT). (No other RRsets are allowed alongside CNAME.)"},
		{"TXT beside CNAME", []string{`_mta-sts.example.com. 3600 IN CNAME _mta-sts.example.net.`},
			libdns.TXT{Name: "_mta-sts", TTL: time.Hour, Text: "v=STSv1; id=1"},
			"RRset with conflicting type present: database (CNAME)."},
		{"CNAME at the apex", nil,
			libdns.CNAME{Name: "@", TTL: time.Hour, Target: "mail.example.net."},
			"RRset with conflicting type present: database (NS)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			if err := s.Seed(zoneName, tt.seed...); err != nil {
				t.Fatal(err)
			}
			before := s.Dump(zoneName)
			_, err := s.Provider().AppendRecords(ctxTimeout(t, 10*time.Second), zoneName, []libdns.Record{tt.add})
			if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want 400 with %q", err, tt.wantErr)
			}
			equalLines(t, s.Dump(zoneName), before)
		})
	}
}

const throttleBody = `{"detail":"Request was throttled. Expected available in 1 second."}`

func TestFaultsSurfaceAsErrors(t *testing.T) {
	tests := []struct {
		name    string
		fault   fakeapi.Fault
		timeout time.Duration
		wantErr string
	}{
		// The client sleeps Retry-After and retries 429 forever: only the
		// context ends it.
		{"429 with Retry-After", fakeapi.Fault{Status: 429, RetryAfter: "1", Body: throttleBody}, 300 * time.Millisecond, "waiting for cooldown to end"},
		{"429 without a usable Retry-After", fakeapi.Fault{Status: 429, Body: throttleBody}, 10 * time.Second, "parsing Retry-After"},
		{"500", fakeapi.Fault{Status: 500, Body: `<h1>Server Error (500)</h1>`, ContentType: "text/html"}, 10 * time.Second, "unexpected status code 500"},
		{"HTML 502", fakeapi.Fault{Status: 502, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>", ContentType: "text/html"}, 10 * time.Second, "unexpected status code 502"},
		{"hang past the deadline", fakeapi.Fault{Hang: true}, 200 * time.Millisecond, "deadline exceeded"},
		{"connection reset", fakeapi.Fault{Reset: true}, 10 * time.Second, "sending request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			s.Middleware().AddFault(tt.fault)
			_, err := s.Provider().GetRecords(ctxTimeout(t, tt.timeout), zoneName)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestThrottledOnceIsRetried(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	s.Middleware().AddFault(fakeapi.Fault{Status: 429, RetryAfter: "0", Body: throttleBody, Times: 1})
	if _, err := s.Provider().GetRecords(ctxTimeout(t, 10*time.Second), zoneName); err != nil {
		t.Fatal(err)
	}
	if n := s.Middleware().Counts()["GET read"]; n != 2 {
		t.Errorf("%d list requests, want 2 (%s)", n, s.Middleware())
	}
}

func TestRateLimitAnswer(t *testing.T) {
	s := New(token, fakeapi.Options{RateLimit: 0.001, Burst: 1})
	defer s.Close()
	s.AddZone(zoneName)
	url := s.URL() + "/api/v1/domains/example.com/rrsets/"
	if status, body, _ := do(t, s, http.MethodGet, url, ""); status != http.StatusOK {
		t.Fatalf("first request: %d %s", status, body)
	}
	status, body, hdr := do(t, s, http.MethodGet, url, "")
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "1" || body != throttleBody {
		t.Errorf("throttled answer %d Retry-After=%q %s", status, hdr.Get("Retry-After"), body)
	}
}

func TestWrongToken(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	p := s.Provider()
	p.Token = "wrong"
	_, err := p.GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), `{"detail":"Invalid token."}`) {
		t.Fatalf("error %v, want 401 Invalid token", err)
	}
}

func TestSeedDumpConsistency(t *testing.T) {
	s := New(token, fakeapi.Options{})
	defer s.Close()
	seed := []string{
		`*.example.com. 3600 IN A 192.0.2.9`,
		`Mixed.Example.com. 3600 IN AAAA 2001:db8::1`,
		`example.com. 3600 IN MX 10 mx.example.com.`,
		`low.example.com. 300 IN A 192.0.2.2`,
		`_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=1" "second string"`,
		`q.example.com. 3600 IN TXT "say \"hi\" \\ \195\169"`,
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		t.Fatal(err)
	}
	want := withApex(canonical(t,
		`*.example.com. 3600 IN A 192.0.2.9`,
		`mixed.example.com. 3600 IN AAAA 2001:db8::1`,
		`example.com. 3600 IN MX 10 mx.example.com.`,
		`low.example.com. 3600 IN A 192.0.2.2`,
		`_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=1" "second string"`,
		`q.example.com. 3600 IN TXT "say \"hi\" \\ \195\169"`,
	)...)
	equalLines(t, s.Dump(zoneName), want)
	if err := s.Seed(zoneName, s.Dump(zoneName)...); err != nil {
		t.Fatal(err)
	}
	equalLines(t, s.Dump(zoneName), want)
	if err := s.Seed(zoneName, `q.example.com. 3600 IN CNAME x.example.net.`); err == nil {
		t.Error("seeding a CNAME beside TXT succeeded")
	}
}

func do(t testing.TB, s *Server, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestBulkRules(t *testing.T) {
	seed := []string{`www.example.com. 3600 IN A 192.0.2.1`, `txt.example.com. 3600 IN TXT "one"`}
	tests := []struct {
		name, method, body string
		status             int
		wantBody           string
		want               []string // nil: unchanged
	}{
		{"TTL below the minimum", "PUT", `[{"subname":"new","type":"A","ttl":60,"records":["192.0.2.5"]}]`, 400,
			`[{"ttl":["Ensure this value is greater than or equal to 3600."]}]`, nil},
		{"TTL above the maximum", "PUT", `[{"subname":"new","type":"A","ttl":86401,"records":["192.0.2.5"]}]`, 400,
			`"Ensure this value is less than or equal to 86400."`, nil},
		{"unquoted TXT", "PUT", `[{"subname":"new","type":"TXT","ttl":3600,"records":["hello"]}]`, 400,
			`Data for TXT records must be given using quotation marks.`, nil},
		{"errors are per position", "PUT", `[{"subname":"ok","type":"A","ttl":3600,"records":["192.0.2.5"]},{"subname":"new","type":"SOA","ttl":3600,"records":["x"]}]`, 400,
			`[{},{"type":["You cannot tinker with the SOA RR set. It is managed automatically."]}]`, nil},
		{"same RRset twice", "PUT", `[{"subname":"a","type":"A","ttl":3600,"records":["192.0.2.5"]},{"subname":"a","type":"A","ttl":3600,"records":["192.0.2.6"]}]`, 400,
			`Same subname and type as in position(s) 1, but must be unique.`, nil},
		{"PUT needs a TTL", "PUT", `[{"subname":"new","type":"A","records":["192.0.2.5"]}]`, 400, `"ttl":["This field is required."]`, nil},
		{"bulk needs a subname", "PUT", `[{"type":"A","ttl":3600,"records":["192.0.2.5"]}]`, 400, `"subname":["This field is required."]`, nil},
		{"duplicate records", "PUT", `[{"subname":"new","type":"A","ttl":3600,"records":["192.0.2.5","192.0.2.5"]}]`, 400,
			`Duplicate: records must be semantically unique`, nil},
		{"CNAME needs a dot", "PUT", `[{"subname":"new","type":"CNAME","ttl":3600,"records":["mail.example.com"]}]`, 400, `Hostname must be fully qualified`, nil},
		{"replace TXT by CNAME in one request", "PUT", `[{"subname":"txt","type":"TXT","ttl":3600,"records":[]},{"subname":"txt","type":"CNAME","ttl":3600,"records":["www.example.com."]}]`, 200, `"type":"CNAME"`,
			[]string{`www.example.com. 3600 IN A 192.0.2.1`, `txt.example.com. 3600 IN CNAME www.example.com.`}},
		{"empty records for an unknown RRset is a no-op", "PUT", `[{"subname":"none","type":"A","ttl":3600,"records":[]}]`, 200, `[]`, nil},
		{"PATCH changes only the TTL", "PATCH", `[{"subname":"www","type":"A","ttl":7200}]`, 200, `"ttl":7200`,
			[]string{`www.example.com. 7200 IN A 192.0.2.1`, `txt.example.com. 3600 IN TXT "one"`}},
		{"long TXT is split", "PUT", `[{"subname":"txt","type":"TXT","ttl":3600,"records":["\"` + strings.Repeat("x", 300) + `\""]}]`, 200, `"\"` + strings.Repeat("x", 255) + `\" \"` + strings.Repeat("x", 45) + `\""`,
			[]string{`www.example.com. 3600 IN A 192.0.2.1`, `txt.example.com. 3600 IN TXT "` + strings.Repeat("x", 255) + `" "` + strings.Repeat("x", 45) + `"`}},
		{"not a list", "PUT", `{"subname":"x"}`, 400, `{"non_field_errors":["Expected a list of items but got dict."]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(token, fakeapi.Options{})
			defer s.Close()
			if err := s.Seed(zoneName, seed...); err != nil {
				t.Fatal(err)
			}
			before := s.Dump(zoneName)
			status, body, _ := do(t, s, tt.method, s.URL()+"/api/v1/domains/example.com/rrsets/", tt.body)
			if status != tt.status || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d with %s", status, body, tt.status, tt.wantBody)
			}
			want := before
			if tt.want != nil {
				want = withApex(canonical(t, tt.want...)...)
			}
			equalLines(t, s.Dump(zoneName), want)
		})
	}
}

func TestSingleRRsetPaths(t *testing.T) {
	s := New(token, fakeapi.Options{})
	defer s.Close()
	if err := s.Seed(zoneName, `www.example.com. 3600 IN A 192.0.2.1`); err != nil {
		t.Fatal(err)
	}
	base := s.URL() + "/api/v1/domains/example.com/rrsets/"
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"www/A/", 200, `"records":["192.0.2.1"]`},
		{"www.../A/", 200, `"name":"www.example.com."`},
		{"@/NS/", 200, `"ns1.desec.io."`},
		{"www/AAAA/", 404, `{"detail":"Not found."}`},
		{"www/A", 200, `"subname":"www"`}, // via the 301 to the slashed path
	} {
		status, body, _ := do(t, s, http.MethodGet, base+tc.path, "")
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %s, want %d with %s", tc.path, status, body, tc.status, tc.want)
		}
	}
}

func FuzzCanonicalTXT(f *testing.F) {
	for _, s := range []string{`"a" "b"`, `"esc \" \\ \195\169"`, `unquoted`, `"unterminated`, `""`, `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := canonicalTXT(v)
		if err != nil {
			return
		}
		again, err := canonicalTXT(c)
		if err != nil || again != c {
			t.Fatalf("canonical form %q is not stable: %q, %v", c, again, err)
		}
		if _, err := dns.NewRR("x. 3600 IN TXT " + c); err != nil {
			t.Fatalf("canonical form %q does not parse as TXT: %v", c, err)
		}
	})
}

func BenchmarkListRRsets(b *testing.B) {
	s := New(token, fakeapi.Options{})
	defer s.Close()
	var seed []string
	for i := range 200 {
		seed = append(seed, fmt.Sprintf("h%03d.example.com. 3600 IN A 192.0.2.1", i))
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		b.Fatal(err)
	}
	url := s.URL() + "/api/v1/domains/example.com/rrsets/"
	client := &http.Client{Transport: &http.Transport{}}
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Token "+token)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
