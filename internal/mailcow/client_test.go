package mailcow_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
)

const apiKey = "S3CRET-api-key-0123456789"

func setup(t *testing.T) (*mailcowtest.Server, *mailcow.Client) {
	t.Helper()
	srv := mailcowtest.New(apiKey)
	t.Cleanup(srv.Close)
	c, err := mailcow.New(mailcow.Options{URL: srv.URL(), APIKey: apiKey, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// noKey fails the test when the API key leaks into an error.
func noKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), apiKey) {
		t.Errorf("API key in error: %v", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		url, key string
		wantErr  string
	}{
		{"https://mail.example.com", apiKey, ""},
		{"https://mail.example.com/", apiKey, ""},
		{"http://127.0.0.1:8080/mailcow", apiKey, ""},
		{"", apiKey, "URL is empty"},
		{"mail.example.com", apiKey, "scheme"},
		{"ftp://mail.example.com", apiKey, "scheme"},
		{"https://", apiKey, "no host"},
		{"https://mail.example.com/?x=1", apiKey, "query"},
		{"https://user:pw@mail.example.com", apiKey, "credentials"},
		{"https://mail.example.com", " ", "API key is empty"},
	}
	for _, tt := range tests {
		_, err := mailcow.New(mailcow.Options{URL: tt.url, APIKey: tt.key})
		if tt.wantErr == "" && err != nil {
			t.Errorf("%q: %v", tt.url, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: err = %v, want %q", tt.url, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%q: credentials in error: %v", tt.url, err)
		}
	}
}

func TestDomainsFlagForms(t *testing.T) {
	for _, asStrings := range []bool{true, false} {
		srv, c := setup(t)
		srv.SetFlagsAsStrings(asStrings)
		srv.AddDomain(mailcowtest.Domain{Name: "b.example", Active: true, Tags: []string{"prod"}})
		srv.AddDomain(mailcowtest.Domain{Name: "a.example", Active: false, BackupMX: true})
		got, err := c.Domains(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []mailcow.Domain{
			{Name: "a.example", Active: false, BackupMX: true},
			{Name: "b.example", Active: true, Tags: []string{"prod"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("strings=%v (-want +got):\n%s", asStrings, diff)
		}
	}
}

func TestEmptyForms(t *testing.T) {
	for _, form := range []string{"[]", "{}"} {
		srv, c := setup(t)
		srv.SetEmptyForm(form)
		d, err := c.Domains(context.Background(), nil)
		if err != nil || len(d) != 0 {
			t.Errorf("%s: domains %v, %v", form, d, err)
		}
		a, err := c.AliasDomains(context.Background())
		if err != nil || len(a) != 0 {
			t.Errorf("%s: alias domains %v, %v", form, a, err)
		}
	}
}

func TestSingleObject(t *testing.T) {
	srv, c := setup(t)
	srv.SetSingleObject(true)
	srv.AddDomain(mailcowtest.Domain{Name: "a.example", Active: true})
	got, err := c.Domains(context.Background(), nil)
	if err != nil || len(got) != 1 || got[0].Name != "a.example" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestTagsFilter(t *testing.T) {
	srv, c := setup(t)
	srv.AddDomain(mailcowtest.Domain{Name: "prod.example", Active: true, Tags: []string{"prod"}})
	srv.AddDomain(mailcowtest.Domain{Name: "preprod.example", Active: true, Tags: []string{"preprod"}})
	srv.AddDomain(mailcowtest.Domain{Name: "shop.example", Active: true, Tags: []string{"Shop", "eu"}})
	srv.AddDomain(mailcowtest.Domain{Name: "untagged.example", Active: true})
	names := func(tags ...string) []string {
		d, err := c.Domains(context.Background(), tags)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range d {
			out = append(out, x.Name)
		}
		return out
	}
	// mailcow's LIKE '%prod%' also returns preprod; the client keeps exact tags.
	if diff := cmp.Diff([]string{"prod.example"}, names("prod")); diff != "" {
		t.Errorf("tag prod (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"prod.example", "shop.example"}, names("prod", "shop")); diff != "" {
		t.Errorf("tags prod,shop (-want +got):\n%s", diff)
	}
	if got := names("nope"); len(got) != 0 {
		t.Errorf("tag nope: %v", got)
	}
	if got := names(); len(got) != 4 {
		t.Errorf("no tags: %v", got)
	}
	if _, err := c.Domains(context.Background(), []string{"a,b"}); err == nil {
		t.Error("tag with comma accepted")
	}
}

func TestIDNDomain(t *testing.T) {
	srv, c := setup(t)
	srv.AddDomain(mailcowtest.Domain{Name: "bücher.example", Active: true})
	srv.AddAliasDomain(mailcowtest.AliasDomain{Name: "BÜCHER-alias.example", Target: "bücher.example", Active: true})
	got, err := c.Discover(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []mailcow.Found{{Name: "xn--bcher-alias-thb.example", AliasOf: "xn--bcher-kva.example"}, {Name: "xn--bcher-kva.example"}}
	if diff := cmp.Diff(want, got.Domains); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUnparsableDomainIsAnError(t *testing.T) {
	srv, c := setup(t)
	srv.AddDomain(mailcowtest.Domain{Name: "good.example", Active: true})
	srv.AddDomain(mailcowtest.Domain{Name: "bad_name..example", Active: true})
	_, err := c.Domains(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "bad_name..example") {
		t.Fatalf("err = %v, want it to name the bad domain", err)
	}
}

func TestDiscover(t *testing.T) {
	srv, c := setup(t)
	srv.AddDomain(mailcowtest.Domain{Name: "main.example", Active: true})
	srv.AddDomain(mailcowtest.Domain{Name: "off.example", Active: false})
	srv.AddDomain(mailcowtest.Domain{Name: "relay.example", Active: true, BackupMX: true})
	srv.AddAliasDomain(mailcowtest.AliasDomain{Name: "alias.example", Target: "main.example", Active: true})
	srv.AddAliasDomain(mailcowtest.AliasDomain{Name: "alias-off.example", Target: "off.example", Active: true})
	srv.AddAliasDomain(mailcowtest.AliasDomain{Name: "sleeping.example", Target: "main.example", Active: false})

	got, err := c.Discover(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	wantDomains := []mailcow.Found{{Name: "alias.example", AliasOf: "main.example"}, {Name: "main.example"}}
	if diff := cmp.Diff(wantDomains, got.Domains); diff != "" {
		t.Errorf("domains (-want +got):\n%s", diff)
	}
	reasons := map[string]string{}
	for _, s := range got.Skipped {
		reasons[s.Name] = s.Reason
	}
	for name, want := range map[string]string{
		"off.example":       "inactive",
		"relay.example":     "only backup MX",
		"alias-off.example": "alias of off.example, which is skipped",
		"sleeping.example":  "alias domain is inactive",
	} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reason %q, want it to contain %q", name, reasons[name], want)
		}
	}
	if len(got.Skipped) != 4 {
		t.Errorf("skipped %d, want 4: %+v", len(got.Skipped), got.Skipped)
	}

	noAliases, err := c.Discover(context.Background(), nil, false)
	if err != nil || len(noAliases.Domains) != 1 {
		t.Errorf("without aliases: %+v, %v", noAliases, err)
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		body, ctype  string
		wantUnauth   bool
		wantContains []string
	}{
		{"401 json", 401, `{"type":"error","msg":"authentication failed"}`, "application/json", true,
			[]string{"HTTP 401", "authentication failed", "API settings", "/api/v1/get/domain/all"}},
		{"403", 403, `{"type":"error","msg":"api access denied for ip 192.0.2.1"}`, "application/json", true,
			[]string{"HTTP 403", "not allowed from this IP"}},
		{"html 200", 200, `<!DOCTYPE html><html><head><title>mailcow UI - Login</title></head></html>`, "text/html", false,
			[]string{"HTML page", "mailcow UI - Login", "instead of JSON"}},
		{"html 502", 502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "text/html", false,
			[]string{"HTTP 502", "502 Bad Gateway"}},
		{"json error with 200", 200, `{"type":"error","msg":"route not found"}`, "application/json", false,
			[]string{"route not found"}},
		{"500 text echoing the key", 500, "bad header X-API-Key: " + apiKey, "text/plain", false,
			[]string{"HTTP 500", "not shown: the answer repeats the API key"}},
		{"garbage 200", 200, `"hello"`, "application/json", false, []string{"expected a JSON list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t)
			srv.Fail(tt.status, tt.body, tt.ctype)
			_, err := c.Domains(context.Background(), nil)
			if err == nil {
				t.Fatal("no error")
			}
			noKey(t, err)
			if got := errors.Is(err, mailcow.ErrUnauthorized); got != tt.wantUnauth {
				t.Errorf("errors.Is(ErrUnauthorized) = %v: %v", got, err)
			}
			if !strings.Contains(err.Error(), srv.URL()) {
				t.Errorf("error does not name the URL: %v", err)
			}
			for _, w := range tt.wantContains {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	srv := mailcowtest.New("the-right-key")
	defer srv.Close()
	c, err := mailcow.New(mailcow.Options{URL: srv.URL(), APIKey: apiKey, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AliasDomains(context.Background())
	if !errors.Is(err, mailcow.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	noKey(t, err)
}

func TestUnreachable(t *testing.T) {
	srv, _ := setup(t)
	url := srv.URL()
	srv.Close()
	c, _ := mailcow.New(mailcow.Options{URL: url, APIKey: apiKey})
	_, err := c.Domains(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "reachable") {
		t.Fatalf("err = %v", err)
	}
	noKey(t, err)
}

func TestSlowServer(t *testing.T) {
	srv, c := setup(t)
	srv.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Domains(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	noKey(t, err)
}

func TestAddAndEditSTS(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	srv.AddDomain(mailcowtest.Domain{Name: "a.example", Active: true})
	s := mailcow.STS{Domain: "A.example.", Mode: "testing", MX: []string{"mail.example.com", "*.Backup.example"}, MaxAge: 86400, Active: true}
	if err := c.AddSTS(ctx, s); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	if len(calls) != 1 || calls[0].Path != "/api/v1/add/mta-sts" {
		t.Fatalf("calls = %+v", calls)
	}
	var add map[string]any
	json.Unmarshal([]byte(calls[0].Body), &add)
	wantAdd := map[string]any{"domain": "a.example", "version": "STSv1", "mode": "testing", "mx": "mail.example.com,*.backup.example", "max_age": 86400.0, "active": 1.0}
	if diff := cmp.Diff(wantAdd, add); diff != "" {
		t.Errorf("add body (-want +got):\n%s", diff)
	}

	err := c.AddSTS(ctx, s)
	if err == nil || !strings.Contains(err.Error(), "edit it instead") {
		t.Errorf("second add: err = %v", err)
	}

	s.Mode, s.MaxAge = "enforce", 604800
	if err := c.EditSTS(ctx, s); err != nil {
		t.Fatal(err)
	}
	var edit struct {
		Items []string       `json:"items"`
		Attr  map[string]any `json:"attr"`
	}
	json.Unmarshal([]byte(srv.Calls()[2].Body), &edit)
	if diff := cmp.Diff([]string{"a.example"}, edit.Items); diff != "" {
		t.Errorf("edit items (-want +got):\n%s", diff)
	}
	if edit.Attr["mode"] != "enforce" || edit.Attr["max_age"] != 604800.0 {
		t.Errorf("edit attr = %v", edit.Attr)
	}
	want := mailcow.STS{Domain: "a.example", Mode: "enforce", MX: []string{"mail.example.com", "*.backup.example"}, MaxAge: 604800, Active: true}
	if diff := cmp.Diff(want, srv.STS()["a.example"]); diff != "" {
		t.Errorf("stored entry (-want +got):\n%s", diff)
	}

	err = c.EditSTS(ctx, mailcow.STS{Domain: "none.example", Mode: "none", MX: []string{"mail.example.com"}, MaxAge: 86400})
	if err == nil || !strings.Contains(err.Error(), "access_denied") || !strings.Contains(err.Error(), "no MTA-STS entry") {
		t.Errorf("edit of a missing entry: err = %v", err)
	}
	noKey(t, err)
}

func TestSTSValidation(t *testing.T) {
	srv, c := setup(t)
	ok := mailcow.STS{Domain: "a.example", Mode: "enforce", MX: []string{"mail.example.com"}, MaxAge: 86400, Active: true}
	tests := []struct {
		name   string
		change func(*mailcow.STS)
		want   string
	}{
		{"bad mode", func(s *mailcow.STS) { s.Mode = "Enforce" }, "mode"},
		{"zero max_age", func(s *mailcow.STS) { s.MaxAge = 0 }, "max_age"},
		{"max_age over mailcow's cap", func(s *mailcow.STS) { s.MaxAge = 31557600 }, "max_age"},
		{"no mx", func(s *mailcow.STS) { s.MX = nil }, "no mx"},
		{"mx with comma", func(s *mailcow.STS) { s.MX = []string{"a.example,b.example"} }, "mx"},
		{"mx inner wildcard", func(s *mailcow.STS) { s.MX = []string{"mail.*.example"} }, "mx"},
		{"bad domain", func(s *mailcow.STS) { s.Domain = "bad domain" }, "bad domain"},
	}
	for _, tt := range tests {
		s := ok
		tt.change(&s)
		if err := c.AddSTS(context.Background(), s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: add err = %v, want %q", tt.name, err, tt.want)
		}
		if err := c.EditSTS(context.Background(), s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: edit err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d invalid requests reached mailcow", n)
	}
}

func TestServedPolicy(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	srv.AddDomain(mailcowtest.Domain{Name: "a.example", Active: true})
	srv.AddDomain(mailcowtest.Domain{Name: "b.example", Active: true})
	srv.AddAliasDomain(mailcowtest.AliasDomain{Name: "alias.example", Target: "a.example", Active: true})
	srv.SetSTS(mailcow.STS{Domain: "a.example", Mode: "enforce", MX: []string{"mail.example.com"}, MaxAge: 86400, Active: true})
	srv.SetSTS(mailcow.STS{Domain: "c.example", Mode: "enforce", MX: []string{"mail.example.com"}, MaxAge: 86400, Active: false})

	want := "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mail.example.com\n"
	for _, d := range []string{"a.example", "alias.example", "A.Example."} {
		body, err := c.ServedPolicy(ctx, srv.PolicyHost(), d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if string(body) != want {
			t.Errorf("%s: body %q, want %q", d, body, want)
		}
	}
	for _, d := range []string{"b.example", "c.example", "unknown.example"} {
		_, err := c.ServedPolicy(ctx, srv.PolicyHost(), d)
		if !errors.Is(err, mailcow.ErrNoPolicy) {
			t.Errorf("%s: err = %v, want ErrNoPolicy", d, err)
		}
	}
	if _, err := c.ServedPolicy(ctx, "https://mail.example.com/", "a.example"); err == nil {
		t.Error("URL accepted as policy host")
	}
}

func TestServedPolicyNoRedirectNoKey(t *testing.T) {
	var sawKey bool
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("version: STSv1\n"))
	}))
	defer target.Close()
	redirect := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawKey = sawKey || r.Header.Get("X-API-Key") != ""
		if r.Host != "mta-sts.a.example" {
			http.Error(w, "wrong host "+r.Host, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, target.URL+"/.well-known/mta-sts.txt", http.StatusFound)
	}))
	defer redirect.Close()
	c, err := mailcow.New(mailcow.Options{URL: "https://mail.example.com", APIKey: apiKey, HTTPClient: redirect.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ServedPolicy(context.Background(), strings.TrimPrefix(redirect.URL, "https://"), "a.example")
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if sawKey {
		t.Error("API key sent to the policy host")
	}
}

func TestServedPolicyTooLarge(t *testing.T) {
	big := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 64<<10+1)))
	}))
	defer big.Close()
	c, _ := mailcow.New(mailcow.Options{URL: "https://mail.example.com", APIKey: apiKey, HTTPClient: big.Client()})
	_, err := c.ServedPolicy(context.Background(), strings.TrimPrefix(big.URL, "https://"), "a.example")
	if err == nil || !strings.Contains(err.Error(), "64 KiB") {
		t.Fatalf("err = %v", err)
	}
}
