package route53fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/libdns/route53"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const (
	zoneName  = "example.com."
	accessKey = "AKIAFAKEFAKEFAKE0001"
)

// newFake starts a fake holding example.com. and points the SDK at it. The
// environment is process-global: callers must not use t.Parallel.
func newFake(t *testing.T, opts fakeapi.Options) *Server {
	t.Helper()
	s := New(accessKey, opts)
	t.Cleanup(s.Close)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	s.AddZone(zoneName)
	return s
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// apex is what every new zone holds.
var apex = []string{
	"example.com.\t172800\tIN\tNS\tns-0.awsdns-00.com.",
	"example.com.\t172800\tIN\tNS\tns-1024.awsdns-00.org.",
	"example.com.\t172800\tIN\tNS\tns-1536.awsdns-00.co.uk.",
	"example.com.\t172800\tIN\tNS\tns-512.awsdns-00.net.",
	"example.com.\t900\tIN\tSOA\tns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400",
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
	return out
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("zone dump:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGetRecordsPagesAt300Sets(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	var seed []string
	for i := range 650 {
		seed = append(seed, fmt.Sprintf("h%03d.example.com. 300 IN A 192.0.2.%d", i, i%250+1))
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Provider().GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 650+len(apex) {
		t.Errorf("got %d records, want %d", len(recs), 650+len(apex))
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[r.RR().Name] = true
	}
	if !names["h000"] || !names["h649"] || !names["@"] {
		t.Errorf("records miss names: h000=%v h649=%v @=%v", names["h000"], names["h649"], names["@"])
	}
	// 652 record sets at 300 a page: 3 list requests, plus the zone lookup.
	want := map[string]int{"GET zone": 1, "GET read": 3}
	if got := s.Middleware().Counts(); !sameCounts(got, want) {
		t.Errorf("requests %v, want %v", got, want)
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

func TestWritesThroughClient(t *testing.T) {
	tests := []struct {
		name   string
		seed   []string
		do     func(ctx context.Context, p *route53.Provider) error
		want   []string
		counts map[string]int
	}{
		{
			name: "append creates a set",
			do: func(ctx context.Context, p *route53.Provider) error {
				_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{
					libdns.TXT{Name: "_mta-sts", TTL: 300 * time.Second, Text: "v=STSv1; id=1"},
				})
				return err
			},
			want:   []string{`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1"`},
			counts: map[string]int{"GET zone": 1, "GET read": 1, "POST write": 1},
		},
		{
			name: "append merges into an existing set and keeps its TTL",
			seed: []string{`_mta-sts.example.com. 600 IN TXT "other"`},
			do: func(ctx context.Context, p *route53.Provider) error {
				_, err := p.AppendRecords(ctx, zoneName, []libdns.Record{
					libdns.TXT{Name: "_mta-sts", TTL: 300 * time.Second, Text: "v=STSv1; id=1"},
				})
				return err
			},
			want: []string{
				`_mta-sts.example.com. 600 IN TXT "other"`,
				`_mta-sts.example.com. 600 IN TXT "v=STSv1; id=1"`,
			},
			counts: map[string]int{"GET zone": 1, "GET read": 1, "POST write": 1},
		},
		{
			name: "set replaces one set without reading",
			seed: []string{`mta-sts.example.com. 300 IN CNAME old.example.net.`, `www.example.com. 300 IN A 192.0.2.1`},
			do: func(ctx context.Context, p *route53.Provider) error {
				_, err := p.SetRecords(ctx, zoneName, []libdns.Record{
					libdns.CNAME{Name: "mta-sts", TTL: 3600 * time.Second, Target: "mail.example.com."},
				})
				return err
			},
			want: []string{
				`mta-sts.example.com. 3600 IN CNAME mail.example.com.`,
				`www.example.com. 300 IN A 192.0.2.1`,
			},
			counts: map[string]int{"GET zone": 1, "POST write": 1},
		},
		{
			name: "delete one of two values upserts the rest",
			seed: []string{`_smtp._tls.example.com. 300 IN TXT "a"`, `_smtp._tls.example.com. 300 IN TXT "b"`},
			do: func(ctx context.Context, p *route53.Provider) error {
				_, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "_smtp._tls", Text: "a"}})
				return err
			},
			want:   []string{`_smtp._tls.example.com. 300 IN TXT "b"`},
			counts: map[string]int{"GET zone": 1, "GET read": 1, "POST write": 1},
		},
		{
			name: "delete the last value deletes the set",
			seed: []string{`_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:a@example.com"`},
			do: func(ctx context.Context, p *route53.Provider) error {
				_, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{
					libdns.TXT{Name: "_smtp._tls", Text: "v=TLSRPTv1; rua=mailto:a@example.com"},
				})
				return err
			},
			want:   nil,
			counts: map[string]int{"GET zone": 1, "GET read": 1, "POST write": 1},
		},
		{
			name: "delete of an absent record writes nothing",
			do: func(ctx context.Context, p *route53.Provider) error {
				_, err := p.DeleteRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "nope", Text: "x"}})
				return err
			},
			counts: map[string]int{"GET zone": 1, "GET read": 1},
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
			equalLines(t, s.Dump(zoneName), withApex(canonical(t, tt.want...)...))
			if got := s.Middleware().Counts(); !sameCounts(got, tt.counts) {
				t.Errorf("requests %v, want %v", got, tt.counts)
			}
		})
	}
}

func TestTXTRoundTrip(t *testing.T) {
	long := strings.Repeat("0123456789", 30) // 300 bytes: two strings on the wire
	tests := []struct {
		name, text, wantRead, wantDump string
	}{
		{"plain", "v=STSv1; id=20240101", "v=STSv1; id=20240101", `t.example.com. 300 IN TXT "v=STSv1; id=20240101"`},
		{"inner quotes and backslashes", `a "q" b \ c`, `a "q" b \ c`, `t.example.com. 300 IN TXT "a \"q\" b \\ c"`},
		{"non-ascii", "exämple", "exämple", `t.example.com. 300 IN TXT "ex\195\164mple"`},
		{"longer than 255 bytes", long, long, `t.example.com. 300 IN TXT "` + long[:255] + `" "` + long[255:] + `"`},
		// The client strips every leading and trailing quote after
		// unescaping (strings.Trim), so a value that starts or ends with one
		// loses it on read; Route53 itself keeps it.
		{"outer quotes are lost by the client", `"quoted"`, `quoted`, `t.example.com. 300 IN TXT "\"quoted\""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			p := s.Provider()
			ctx := ctxTimeout(t, 10*time.Second)
			if _, err := p.AppendRecords(ctx, zoneName, []libdns.Record{libdns.TXT{Name: "t", TTL: 300 * time.Second, Text: tt.text}}); err != nil {
				t.Fatal(err)
			}
			equalLines(t, s.Dump(zoneName), withApex(canonical(t, tt.wantDump)...))
			recs, err := p.GetRecords(ctx, zoneName)
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
		{
			name:    "CNAME beside TXT",
			seed:    []string{`mta-sts.example.com. 300 IN TXT "x"`},
			add:     libdns.CNAME{Name: "mta-sts", TTL: 300 * time.Second, Target: "mail.example.com."},
			wantErr: "RRSet of type CNAME with DNS name mta-sts.example.com. is not permitted as it conflicts with other records",
		},
		{
			name:    "TXT beside CNAME",
			seed:    []string{`_mta-sts.example.com. 300 IN CNAME _mta-sts.example.net.`},
			add:     libdns.TXT{Name: "_mta-sts", TTL: 300 * time.Second, Text: "v=STSv1; id=1"},
			wantErr: "RRSet of type TXT with DNS name _mta-sts.example.com. is not permitted because a conflicting RRSet of type  CNAME",
		},
		{
			name:    "CNAME at the apex",
			add:     libdns.CNAME{Name: "@", TTL: 300 * time.Second, Target: "mail.example.net."},
			wantErr: "is not permitted at apex",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			if err := s.Seed(zoneName, tt.seed...); err != nil {
				t.Fatal(err)
			}
			before := s.Dump(zoneName)
			_, err := s.Provider().AppendRecords(ctxTimeout(t, 10*time.Second), zoneName, []libdns.Record{tt.add})
			if err == nil || !strings.Contains(err.Error(), "InvalidChangeBatch") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want InvalidChangeBatch with %q", err, tt.wantErr)
			}
			equalLines(t, s.Dump(zoneName), before)
		})
	}
}

func TestSeedRejectsCNAMEBesideData(t *testing.T) {
	s := New(accessKey, fakeapi.Options{})
	defer s.Close()
	err := s.Seed(zoneName, `a.example.com. 300 IN A 192.0.2.1`, `a.example.com. 300 IN CNAME b.example.com.`)
	if err == nil {
		t.Fatal("seeding a CNAME beside an A record succeeded")
	}
}

const throttleBody = `<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>`

func TestFaultsSurfaceAsErrors(t *testing.T) {
	tests := []struct {
		name    string
		fault   fakeapi.Fault
		timeout time.Duration
		wantErr string
	}{
		{"429 with Retry-After", fakeapi.Fault{Status: 429, RetryAfter: "1", Body: throttleBody, ContentType: "text/xml"}, 10 * time.Second, "Throttling"},
		{"throttling 400", fakeapi.Fault{Status: 400, Body: throttleBody, ContentType: "text/xml"}, 10 * time.Second, "Throttling"},
		{"500", fakeapi.Fault{Status: 500, Body: `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>boom</Message></Error></ErrorResponse>`, ContentType: "text/xml"}, 10 * time.Second, "InternalFailure"},
		{"HTML 502", fakeapi.Fault{Status: 502, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>", ContentType: "text/html"}, 10 * time.Second, "502"},
		{"hang past the deadline", fakeapi.Fault{Hang: true}, 200 * time.Millisecond, "deadline exceeded"},
		{"connection reset", fakeapi.Fault{Reset: true}, 10 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, fakeapi.Options{})
			s.Middleware().AddFault(tt.fault)
			_, err := s.Provider().GetRecords(ctxTimeout(t, tt.timeout), zoneName)
			if err == nil {
				t.Fatal("GetRecords succeeded through a fault")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want it to mention %q", err, tt.wantErr)
			}
			// MaxRetries 1 is one attempt: the SDK does not retry.
			if n := s.Middleware().Total(); n != 1 {
				t.Errorf("%d requests, want 1 (%s)", n, s.Middleware())
			}
		})
	}
}

func TestRateLimitAnswersThrottling(t *testing.T) {
	s := newFake(t, fakeapi.Options{RateLimit: 0.001, Burst: 1})
	p := s.Provider()
	_, err := p.GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err == nil || !strings.Contains(err.Error(), "Throttling") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("error %v, want a 400 Throttling", err)
	}
}

// The SDK retries Throttling; with MaxRetries 2 (two attempts) one throttled
// answer is absorbed. The SDK's backoff before the retry is random in [0, 2s).
func TestSDKRetriesThrottling(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	s.Middleware().AddFault(fakeapi.Fault{Status: 400, Body: throttleBody, ContentType: "text/xml", Times: 1})
	p := s.Provider()
	p.MaxRetries = 2
	if _, err := p.GetRecords(ctxTimeout(t, 10*time.Second), zoneName); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"GET zone": 2, "GET read": 1}
	if got := s.Middleware().Counts(); !sameCounts(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
}

func TestWrongAccessKey(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	p := s.Provider()
	p.AccessKeyId = "AKIAWRONGWRONGWRONG1"
	_, err := p.GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("error %v, want 403 InvalidClientTokenId", err)
	}
}

func TestZoneWithoutTrailingDotIsNotFound(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	_, err := s.Provider().GetRecords(ctxTimeout(t, 10*time.Second), "example.com")
	if err == nil || !strings.Contains(err.Error(), "HostedZoneNotFound") {
		t.Fatalf("error %v, want HostedZoneNotFound: Route53 names end in a dot", err)
	}
}

func TestSeedDumpConsistency(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	seed := []string{
		`*.example.com. 300 IN A 192.0.2.9`,
		`Mixed.Example.com. 300 IN AAAA 2001:db8::1`,
		`mail.example.com. 300 IN MX 10 mx.example.com.`,
		`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1" "second string"`,
		`q.example.com. 300 IN TXT "say \"hi\" \\ \195\169"`,
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		t.Fatal(err)
	}
	want := withApex(canonical(t,
		`*.example.com. 300 IN A 192.0.2.9`,
		`mixed.example.com. 300 IN AAAA 2001:db8::1`,
		`mail.example.com. 300 IN MX 10 mx.example.com.`,
		`_mta-sts.example.com. 300 IN TXT "v=STSv1; id=1" "second string"`,
		`q.example.com. 300 IN TXT "say \"hi\" \\ \195\169"`,
	)...)
	equalLines(t, s.Dump(zoneName), want)

	// Seeding the dump again changes nothing.
	if err := s.Seed(zoneName, s.Dump(zoneName)...); err != nil {
		t.Fatal(err)
	}
	equalLines(t, s.Dump(zoneName), want)

	// The wildcard comes back as \052, as Route53 returns it.
	recs, err := s.Provider().GetRecords(ctxTimeout(t, 10*time.Second), zoneName)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.RR().Name == `\052` {
			found = true
		}
	}
	if !found {
		t.Errorf("no record named \\052 in %v", recs)
	}
}

// post sends a raw ChangeResourceRecordSets request.
func post(t *testing.T, s *Server, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/2013-04-01/hostedzone/"+s.ZoneID(zoneName)+"/rrset/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/20240101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func change(action, name, typ string, ttl int, values ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>%s</Type><TTL>%d</TTL><ResourceRecords>", action, name, typ, ttl)
	for _, v := range values {
		fmt.Fprintf(&b, "<ResourceRecord><Value>%s</Value></ResourceRecord>", v)
	}
	b.WriteString("</ResourceRecords></ResourceRecordSet></Change>")
	return b.String()
}

func batch(changes ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>` +
		strings.Join(changes, "") + `</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
}

func TestChangeBatchSemantics(t *testing.T) {
	seed := []string{`a.example.com. 300 IN TXT "one" "two"`, `b.example.com. 300 IN A 192.0.2.1`}
	tests := []struct {
		name     string
		body     string
		status   int
		wantBody string
		want     []string // the zone after, apex left out; nil: unchanged
	}{
		{"CREATE of an existing set", batch(change("CREATE", "b.example.com.", "A", 300, "192.0.2.2")), 400,
			"Tried to create resource record set [name=&#39;b.example.com.&#39;, type=&#39;A&#39;] but it already exists", nil},
		{"DELETE with other values", batch(change("DELETE", "b.example.com.", "A", 300, "192.0.2.9")), 400,
			"but the values provided do not match the current values", nil},
		{"DELETE with another TTL", batch(change("DELETE", "b.example.com.", "A", 60, "192.0.2.1")), 400,
			"but the values provided do not match the current values", nil},
		{"DELETE of an absent set", batch(change("DELETE", "c.example.com.", "A", 300, "192.0.2.1")), 400,
			"but it was not found", nil},
		{"DELETE of the apex NS", batch(change("DELETE", "example.com.", "NS", 172800,
			"ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com.", "ns-1024.awsdns-00.org.", "ns-512.awsdns-00.net.")), 400,
			"must contain at least one NS record", nil},
		{"a batch fails as a whole", batch(change("UPSERT", "c.example.com.", "A", 300, "192.0.2.3"), change("CREATE", "b.example.com.", "A", 300, "192.0.2.2")), 400,
			"already exists", nil},
		{"TXT string over 255 bytes", batch(change("UPSERT", "c.example.com.", "TXT", 300, `"`+strings.Repeat("x", 256)+`"`)), 400,
			"TXTRDATATooLong", nil},
		{"duplicate values", batch(change("UPSERT", "c.example.com.", "A", 300, "192.0.2.3", "192.0.2.3")), 400,
			"Duplicate Resource Record", nil},
		{"record outside the zone", batch(change("UPSERT", "c.example.net.", "A", 300, "192.0.2.3")), 400,
			"is not permitted in zone example.com.", nil},
		{"no TTL", strings.Replace(batch(change("UPSERT", "c.example.com.", "A", 300, "192.0.2.3")), "<TTL>300</TTL>", "", 1), 400,
			"InvalidInput", nil},
		{"DELETE and CREATE in one batch replace a set",
			batch(change("DELETE", "a.example.com.", "TXT", 300, `"one" "two"`), change("CREATE", "a.example.com.", "CNAME", 300, "b.example.com")), 200,
			"<Status>INSYNC</Status>",
			[]string{`a.example.com. 300 IN CNAME b.example.com.`, `b.example.com. 300 IN A 192.0.2.1`}},
		{"unquoted TXT is stored quoted",
			batch(change("UPSERT", "c.example.com.", "TXT", 300, `hello`)), 200, "<ChangeInfo><Id>/change/C",
			[]string{`a.example.com. 300 IN TXT "one" "two"`, `b.example.com. 300 IN A 192.0.2.1`, `c.example.com. 300 IN TXT "hello"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(accessKey, fakeapi.Options{})
			defer s.Close()
			if err := s.Seed(zoneName, seed...); err != nil {
				t.Fatal(err)
			}
			before := s.Dump(zoneName)
			status, body := post(t, s, tt.body)
			if status != tt.status || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d with %q", status, body, tt.status, tt.wantBody)
			}
			if status != http.StatusOK && !strings.Contains(body, "<ErrorResponse") {
				t.Errorf("error body is not an ErrorResponse: %s", body)
			}
			want := before
			if tt.want != nil {
				want = withApex(canonical(t, tt.want...)...)
			}
			equalLines(t, s.Dump(zoneName), want)
		})
	}
}

func TestGetChange(t *testing.T) {
	s := New(accessKey, fakeapi.Options{})
	defer s.Close()
	s.AddZone(zoneName)
	_, body := post(t, s, batch(change("UPSERT", "c.example.com.", "A", 300, "192.0.2.3")))
	_, rest, _ := strings.Cut(body, "<Id>/change/")
	id, _, _ := strings.Cut(rest, "<")
	for _, tc := range []struct {
		id     string
		status int
	}{{id, 200}, {"CNOSUCHCHANGE", 404}} {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/2013-04-01/change/"+tc.id, nil)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/20240101/us-east-1/route53/aws4_request")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("GetChange %s: %d %s, want %d", tc.id, res.StatusCode, b, tc.status)
		}
		if tc.status == 200 && !strings.Contains(string(b), "<Status>INSYNC</Status>") {
			t.Errorf("GetChange %s: %s lacks INSYNC", tc.id, b)
		}
	}
}

func TestWaitForSyncUsesGetChange(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	p := s.Provider()
	p.WaitForRoute53Sync = true
	_, err := p.SetRecords(ctxTimeout(t, 10*time.Second), zoneName, []libdns.Record{libdns.TXT{Name: "w", TTL: time.Minute, Text: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Middleware().Counts()["GET change"]; n != 1 {
		t.Errorf("GetChange requests %d, want 1 (%s)", n, s.Middleware())
	}
}

func TestErrorIsTyped(t *testing.T) {
	s := newFake(t, fakeapi.Options{})
	_, err := s.Provider().SetRecords(ctxTimeout(t, 10*time.Second), zoneName, []libdns.Record{libdns.CNAME{Name: "@", Target: "x.example.net."}})
	if err == nil {
		t.Fatal("CNAME at the apex accepted")
	}
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidChangeBatch" {
		t.Errorf("error %v is not an InvalidChangeBatch API error", err)
	}
}

func FuzzParseTXT(f *testing.F) {
	for _, s := range []string{`"a" "b"`, `plain words`, `"esc \" \\ \052 \377"`, `"unterminated`, `""`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		strs, err := parseTXT(v)
		if err != nil {
			return
		}
		again, err := parseTXT(renderTXT(strs))
		if err != nil {
			t.Fatalf("rendered %q does not parse: %v", renderTXT(strs), err)
		}
		if strings.Join(again, "\x00") != strings.Join(strs, "\x00") || len(again) != len(strs) {
			t.Fatalf("round trip %q → %q", strs, again)
		}
	})
}

func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"*.Example.COM", `\052.example.com.`, "", "a..b", `\777`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c := canonicalName(name)
		if !strings.HasSuffix(c, ".") {
			t.Fatalf("canonicalName(%q) = %q lacks the dot", name, c)
		}
		if again := canonicalName(wireName(c)); again != c {
			t.Fatalf("canonicalName(wireName(%q)) = %q", c, again)
		}
		_ = sortKey(c)
	})
}

func BenchmarkListRRSetsPage(b *testing.B) {
	s := New(accessKey, fakeapi.Options{})
	defer s.Close()
	var seed []string
	for i := range 1000 {
		seed = append(seed, fmt.Sprintf("h%04d.example.com. 300 IN A 192.0.2.1", i))
	}
	if err := s.Seed(zoneName, seed...); err != nil {
		b.Fatal(err)
	}
	url := s.URL() + "/2013-04-01/hostedzone/" + s.ZoneID(zoneName) + "/rrset?maxitems=100&name=h0500.example.com."
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/x")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
