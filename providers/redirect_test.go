package providers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiOnly sends the requests for one API host to a test server and every
// other request where it was going, so a redirect to another server
// really reaches it.
type apiOnly struct {
	host   string
	target *url.URL
}

func (t apiOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == t.host {
		r := req.Clone(req.Context())
		r.URL.Scheme, r.URL.Host = t.target.Scheme, t.target.Host
		return http.DefaultTransport.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestCloudflareTokenNeverFollowsRedirects: an API answer that redirects to
// another port or host is an error naming the redirect; the server it
// points at receives nothing, so neither the token nor the request leaves.
func TestCloudflareTokenNeverFollowsRedirects(t *testing.T) {
	const token = "cf-secret-token"
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" Authorization="+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":[]}`))
	}))
	defer other.Close()
	for _, tc := range []struct{ name, to string }{
		{"another port", other.URL},
		{"another host", strings.Replace(other.URL, "127.0.0.1", "localhost", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tc.to+r.URL.RequestURI(), http.StatusFound)
			}))
			defer front.Close()
			target, _ := url.Parse(front.URL)
			p, err := Build(context.Background(), "cf", "cloudflare", map[string]string{"api_token": token},
				Options{Transport: apiOnly{host: "api.cloudflare.com", target: target}, CallTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Zone("example.com").Records(context.Background())
			if err == nil || !strings.Contains(err.Error(), "HTTP 302 Found redirects to "+tc.to) || !strings.Contains(err.Error(), "not followed") {
				t.Errorf("err = %v, want the refused redirect to %s named", err, tc.to)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) > 0 {
		t.Errorf("the server redirected to received %v", seen)
	}
}
