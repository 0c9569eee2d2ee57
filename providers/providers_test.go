package providers

import (
	"context"
	"errors"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

func TestBuildRefusesBadSettings(t *testing.T) {
	// No shared AWS files or profile from the machine running the test.
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	goodKey := "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
	tests := []struct {
		name, typ string
		settings  map[string]string
		want      string // in the error
	}{
		{"unknown type", "gandi", map[string]string{"token": "x"}, `unknown type "gandi"`},
		{"cloudflare without token", "cloudflare", map[string]string{}, "api_token is required"},
		{"hetzner empty token", "hetzner", map[string]string{"api_token": ""}, "api_token is required"},
		{"hetzner blank token", "hetzner", map[string]string{"api_token": "  \t"}, "api_token is required"},
		{"desec without token", "desec", map[string]string{}, "token is required"},
		{"zonefile without directory", "zonefile", map[string]string{}, "directory is required"},
		{"rfc2136 without server", "rfc2136", map[string]string{"key_name": "k.", "key": goodKey}, "server is required"},
		{"rfc2136 without key", "rfc2136", map[string]string{"server": "192.0.2.53:53", "key_name": "k."}, "key is required"},
		{"rfc2136 without key name", "rfc2136", map[string]string{"server": "192.0.2.53:53", "key": goodKey}, "key_name is required"},
		{"rfc2136 server without port", "rfc2136", map[string]string{"server": "ns1.example.com", "key_name": "k.", "key": goodKey}, "server is not host:port"},
		{"rfc2136 bad algorithm", "rfc2136", map[string]string{"server": "192.0.2.53:53", "key_name": "k.", "key": goodKey, "key_alg": "hmac-md5"}, "key_alg is not a TSIG algorithm"},
		{"rfc2136 key not base64", "rfc2136", map[string]string{"server": "192.0.2.53:53", "key_name": "k.", "key": "not base64!"}, "key is not valid base64"},
		{"route53 half a key pair", "route53", map[string]string{"access_key_id": "AKIA"}, "go together"},
		// The client itself would log.Fatalf, ending the test binary.
		{"route53 missing profile", "route53", map[string]string{"profile": "no-such-profile-here", "region": "us-east-1"}, "no-such-profile-here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(t.Context(), "acct", tt.typ, tt.settings, Options{})
			if err == nil {
				t.Fatalf("Build succeeded (%+v); want an error containing %q", p, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "provider acct") {
				t.Errorf("error %q: want it to name provider acct and contain %q", err, tt.want)
			}
			if s := tt.settings["key"]; s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error shows the secret: %q", err)
			}
		})
	}
}

func TestBuildAcceptsGoodSettings(t *testing.T) {
	tests := []struct {
		typ      string
		settings map[string]string
	}{
		{"cloudflare", map[string]string{"api_token": "t"}},
		{"hetzner", map[string]string{"api_token": "t"}},
		{"desec", map[string]string{"token": "t"}},
		{"zonefile", map[string]string{"directory": t.TempDir()}},
		{"rfc2136", map[string]string{"server": "[::1]:53", "key_name": "k.", "key": "c2VjcmV0", "key_alg": "HMAC-SHA512."}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			p, err := Build(t.Context(), "acct", tt.typ, tt.settings, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != "acct" || p.Type != tt.typ {
				t.Errorf("got provider %s (%s)", p.Name, p.Type)
			}
		})
	}
}

// memClient is a libdns client over a slice, with hooks to fail or panic.
type memClient struct {
	mu   sync.Mutex
	recs []libdns.Record
	// appendErr, when set, is returned by AppendRecords after it stored the
	// records (stored) or before (not stored), the given number of times.
	appendErr    error
	appendFails  int
	appendStores bool
	appends      int
	panicOnGet   bool
}

func (c *memClient) GetRecords(context.Context, string) ([]libdns.Record, error) {
	if c.panicOnGet {
		var m map[string]int
		m["boom"]++ // a nil map write, as a buggy client would
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]libdns.Record(nil), c.recs...), nil
}

func (c *memClient) AppendRecords(_ context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.appends++
	if c.appendFails > 0 {
		c.appendFails--
		if c.appendStores {
			c.recs = append(c.recs, recs...)
		}
		return nil, c.appendErr
	}
	c.recs = append(c.recs, recs...)
	return recs, nil
}

func (c *memClient) SetRecords(context.Context, string, []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.New("not used")
}

func (c *memClient) DeleteRecords(context.Context, string, []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.New("not used")
}

func TestPanickingClientIsAnError(t *testing.T) {
	p, err := New("cf", "cloudflare", &memClient{panicOnGet: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Zone("Example.COM.").Records(t.Context())
	if err == nil {
		t.Fatal("no error from a client that panicked")
	}
	for _, want := range []string{"provider cf (cloudflare) panicked", "zone example.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestNewRefusesUnknownType(t *testing.T) {
	if _, err := New("x", "bind9", &memClient{}, Options{}); err == nil || !strings.Contains(err.Error(), `unknown type "bind9"`) {
		t.Errorf("got %v", err)
	}
}

// TestWriteRRsetLooksBeforeRetryingACreate: a create whose answer was lost
// is not sent again when the zone shows it took; one that did not take is.
func TestWriteRRsetLooksBeforeRetryingACreate(t *testing.T) {
	rec := reconcile.Record{Name: "_mta-sts.example.com.", Type: "TXT", Value: "v=STSv1; id=abc", TTL: time.Hour}
	w := reconcile.RRsetWrite{Name: rec.Name, Type: rec.Type, Want: []reconcile.Record{rec}}
	lost := errors.New("connection reset by peer")
	tests := []struct {
		name        string
		client      *memClient
		wantAppends int
		wantErr     bool
	}{
		{"stored, answer lost", &memClient{appendErr: lost, appendFails: 1, appendStores: true}, 1, false},
		{"not stored", &memClient{appendErr: lost, appendFails: 1}, 2, false},
		{"not stored twice", &memClient{appendErr: lost, appendFails: 2}, 2, true},
		{"works at once", &memClient{}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New("r53", "route53", tt.client, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Zone("example.com").WriteRRset(t.Context(), w)
			if (err != nil) != tt.wantErr {
				t.Fatalf("WriteRRset error %v, want error %v", err, tt.wantErr)
			}
			if tt.client.appends != tt.wantAppends {
				t.Errorf("%d appends, want %d", tt.client.appends, tt.wantAppends)
			}
			n := 0
			for _, r := range tt.client.recs {
				if r.RR().Name == "_mta-sts" && r.RR().Data == rec.Value {
					n++
				}
			}
			if want := map[bool]int{false: 1, true: 0}[tt.wantErr]; n != want {
				t.Errorf("zone holds the record %d times, want %d", n, want)
			}
		})
	}
}

func TestUnpresent(t *testing.T) {
	tests := []struct{ in, want string }{
		{`v=STSv1; id=abc`, `v=STSv1; id=abc`},
		{`"v=STSv1; id=abc"`, `v=STSv1; id=abc`},
		{`"abc" "def"`, `abcdef`},
		{`"say \"hi\""`, `say "hi"`},
		{`say \"hi\"`, `say "hi"`},
		{`"back\\slash"`, `back\slash`},
		{`"caf\195\169"`, "caf\u00e9"},
		{`"\256 stays"`, `\256 stays`},
		{`"a" "b" "c"`, `abc`},
		{`""`, ``},
		{`"`, `"`},
		{`trailing\`, `trailing\`},
		{`\12`, `12`},
	}
	for _, tt := range tests {
		if got := dnstext.Unpresent(tt.in); got != tt.want {
			t.Errorf("dnstext.Unpresent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzUnpresent(f *testing.F) {
	for _, s := range []string{`"a" "b"`, `\"`, `\\`, `\195\169`, `"`, `\`, `v=STSv1; id=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := dnstext.Unpresent(s)
		if !strings.ContainsAny(s, `"\`) && got != s {
			t.Errorf("dnstext.Unpresent(%q) = %q: a plain value must come back unchanged", s, got)
		}
		if len(got) > len(s) {
			t.Errorf("dnstext.Unpresent(%q) = %q grew", s, got)
		}
	})
}

func TestFixCase(t *testing.T) {
	tests := []struct{ name, want string }{
		{"_mta-sts", "_mta-sts"},
		{"_MTA-STS.EXAMPLE.COM", "_MTA-STS"},
		{"_MTA-STS.EXAMPLE.COM.", "_MTA-STS"},
		{"EXAMPLE.COM", "@"},
		{"@", "@"},
		{"www.example.com", "www.example.com"}, // relative already: www.example.com.example.com.
		{"mta-sts.EU.example.com", "mta-sts.EU.example.com"},
		{"mta-sts.eu.Example.Com", "mta-sts.eu"},
	}
	for _, tt := range tests {
		recs := fixCase([]libdns.Record{libdns.RR{Name: tt.name, Type: "TXT", Data: "x"}}, "example.com")
		if got := recs[0].RR().Name; got != tt.want {
			t.Errorf("fixCase(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// attempt is one request the test server saw.
type attempt struct{ method, body string }

// flaky answers with statuses in turn (then 200) and records each attempt.
func flaky(t *testing.T, retryAfter string, statuses ...int) (*httptest.Server, func() []attempt) {
	var mu sync.Mutex
	var seen []attempt
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, attempt{r.Method, string(body)})
		n := len(seen)
		mu.Unlock()
		if n <= len(statuses) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(statuses[n-1])
			return
		}
		_, _ = io.WriteString(w, `{"success":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []attempt {
		mu.Lock()
		defer mu.Unlock()
		return append([]attempt(nil), seen...)
	}
}

func TestRetryTransport(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		retryAfter string
		statuses   []int
		wantStatus int
		attempts   int
	}{
		{"429 GET waits Retry-After", http.MethodGet, "0", []int{429}, 200, 2},
		{"429 POST is sent again", http.MethodPost, "0", []int{429, 429}, 200, 3},
		{"429 without Retry-After backs off", http.MethodPost, "", []int{429}, 200, 2},
		{"500 GET is retried", http.MethodGet, "", []int{500, 502}, 200, 3},
		{"500 PATCH is retried", http.MethodPatch, "", []int{503}, 200, 2},
		{"500 POST is not retried", http.MethodPost, "", []int{500}, 500, 1},
		{"502 DELETE is not retried", http.MethodDelete, "", []int{502}, 502, 1},
		{"400 is not retried", http.MethodGet, "", []int{400}, 400, 1},
		{"gives up after the attempts", http.MethodGet, "0", []int{429, 429, 429, 429, 429}, 429, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := flaky(t, tt.retryAfter, tt.statuses...)
			rt := &retryTransport{base: http.DefaultTransport, backoff: time.Millisecond}
			const body = `{"type":"TXT","name":"_mta-sts","content":"\"v=STSv1; id=1\""}`
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+"/zones/z/dns_records", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got := seen()
			if len(got) != tt.attempts {
				t.Fatalf("%d attempts, want %d", len(got), tt.attempts)
			}
			for i, a := range got {
				if a.body != body || a.method != tt.method {
					t.Errorf("attempt %d: %s %q; want %s with the whole body again", i+1, a.method, a.body, tt.method)
				}
			}
		})
	}
}

func TestRetryTransportStopsWithTheContext(t *testing.T) {
	srv, seen := flaky(t, "3600", 429, 429)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := &retryTransport{base: http.DefaultTransport}
	if resp, err := rt.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a cancelled request went through")
	}
	if n := len(seen()); n > 1 {
		t.Errorf("%d attempts after cancel", n)
	}
}

func TestRetryTransportCannotRewind(t *testing.T) {
	srv, seen := flaky(t, "0", 429)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, io.NopCloser(strings.NewReader("x")))
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody = nil
	rt := &retryTransport{base: http.DefaultTransport, backoff: time.Millisecond}
	if _, err := rt.RoundTrip(req); !errors.Is(err, errNoRewind) {
		t.Errorf("got %v, want errNoRewind", err)
	}
	if n := len(seen()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		in     string
		ok     bool
		atMost time.Duration
		atLst  time.Duration
	}{
		{"", false, 0, 0},
		{"0", true, 0, 0},
		{"7", true, 7 * time.Second, 7 * time.Second},
		{"-1", false, 0, 0},
		{"soon", false, 0, 0},
		{"Thu, 01 Jan 1970 00:00:00 GMT", true, 0, 0},
		{future, true, time.Hour, 58 * time.Minute},
	}
	for _, tt := range tests {
		d, ok := retryAfter(tt.in)
		if ok != tt.ok || d > tt.atMost || d < tt.atLst {
			t.Errorf("retryAfter(%q) = %v, %v; want ok=%v within [%v, %v]", tt.in, d, ok, tt.ok, tt.atLst, tt.atMost)
		}
	}
}

func TestExplainRFC2136(t *testing.T) {
	tests := []struct{ err, want string }{
		{"zone transfer: dns: bad authentication", "not authoritative for zone example.org, or the TSIG key is wrong"},
		{`dns response error code "NOTAUTH" (9)`, "not authoritative for zone example.org"},
		{`dns response error code "REFUSED" (5)`, "grant the TSIG key"},
		{"dial tcp 192.0.2.53:53: connection refused", ""},
	}
	for _, tt := range tests {
		orig := errors.New(tt.err)
		got := explainRFC2136("example.org", orig)
		if !errors.Is(got, orig) {
			t.Errorf("explainRFC2136(%q) lost the cause: %v", tt.err, got)
		}
		if tt.want == "" && got.Error() != tt.err {
			t.Errorf("explainRFC2136(%q) = %q; want it unchanged", tt.err, got)
		}
		if !strings.Contains(got.Error(), tt.want) {
			t.Errorf("explainRFC2136(%q) = %q; want %q in it", tt.err, got, tt.want)
		}
	}
}

func FuzzFixCase(f *testing.F) {
	for _, s := range []string{"_MTA-STS.EXAMPLE.COM", "EXAMPLE.COM.", "@", "www", "a.Example.com", ".example.com", "EXAMPLE.COM.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		const zone = "example.com"
		got := fixCase([]libdns.Record{libdns.RR{Name: name, Type: "A", Data: "192.0.2.1"}}, zone)[0].RR().Name
		if got == name {
			return
		}
		// A repaired name must still name the same owner, relative now.
		abs := libdns.AbsoluteName(got, zone+".")
		if !strings.EqualFold(abs, strings.TrimSuffix(name, ".")+".") {
			t.Errorf("fixCase(%q) = %q, which names %q", name, got, abs)
		}
	})
}
