package credhttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/credhttp"
)

// recorder is a real HTTP server that notes every request it gets.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path key=<X-API-Key> auth=<Authorization>"
}

func startRecorder(t *testing.T, h func(r *recorder, w http.ResponseWriter, req *http.Request)) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, fmt.Sprintf("%s %s key=%s auth=%s", req.Method, req.URL.Path, req.Header.Get("X-API-Key"), req.Header.Get("Authorization")))
		r.mu.Unlock()
		h(r, w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func TestRedirectPolicy(t *testing.T) {
	other := startRecorder(t, func(_ *recorder, w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "other")
	})
	home := startRecorder(t, func(r *recorder, w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/to-other-port":
			http.Redirect(w, req, other.URL+"/stolen", http.StatusFound)
		case "/to-other-host":
			// The same server under another name: localhost, not 127.0.0.1.
			http.Redirect(w, req, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/stolen", http.StatusMovedPermanently)
		case "/to-https":
			http.Redirect(w, req, strings.Replace(r.URL, "http://", "https://", 1)+"/secure", http.StatusPermanentRedirect)
		case "/same-origin":
			http.Redirect(w, req, "/final", http.StatusFound)
		case "/same-origin-307":
			http.Redirect(w, req, "/final", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, req, "/loop", http.StatusFound)
		default:
			_, _ = io.WriteString(w, "home "+req.Method+" "+req.URL.Path)
		}
	})
	cases := []struct {
		name, method, path string
		want               string // body of the answer; "" when refused
		status             int    // the refused redirect's status
		reason             string
	}{
		{name: "another port", method: "GET", path: "/to-other-port", status: 302, reason: "another scheme, host or port"},
		{name: "another host", method: "GET", path: "/to-other-host", status: 301, reason: "another scheme, host or port"},
		{name: "another scheme", method: "GET", path: "/to-https", status: 308, reason: "another scheme, host or port"},
		{name: "same origin GET", method: "GET", path: "/same-origin", want: "home GET /final"},
		{name: "same origin POST made a GET", method: "POST", path: "/same-origin", status: 302, reason: "turn the POST into a GET"},
		{name: "same origin POST kept by 307", method: "POST", path: "/same-origin-307", want: "home POST /final"},
		{name: "endless loop", method: "GET", path: "/loop", status: 302, reason: "10 redirects in a row"},
	}
	client := credhttp.Client(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, home.URL+tc.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-API-Key", "secret-key")
			req.Header.Set("Authorization", "Bearer secret-token")
			resp, err := client.Do(req)
			if tc.want != "" {
				if err != nil {
					t.Fatalf("want the redirect followed, got %v", err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if string(body) != tc.want {
					t.Errorf("answer %q, want %q", body, tc.want)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("redirect followed (HTTP %d), want it refused", resp.StatusCode)
			}
			var re *credhttp.RedirectError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is not a *RedirectError", err, err)
			}
			if re.Status != tc.status || !strings.Contains(re.Error(), tc.reason) || !strings.Contains(re.Error(), fmt.Sprint(tc.status)) {
				t.Errorf("error %q: want status %d and %q", re.Error(), tc.status, tc.reason)
			}
			if re.Location == "" || !strings.Contains(re.Error(), re.Location) {
				t.Errorf("error %q does not name the Location %q", re.Error(), re.Location)
			}
		})
	}
	if got := other.requests(); len(got) != 0 {
		t.Errorf("the other server received %v: the credentials left for another origin", got)
	}
}

// TestClientCopies: the policy is set on a copy; the caller's client keeps
// its own settings.
func TestClientCopies(t *testing.T) {
	base := &http.Client{Timeout: 7}
	c := credhttp.Client(base)
	if base.CheckRedirect != nil {
		t.Error("Client changed the caller's client")
	}
	if c.Timeout != 7 || c.CheckRedirect == nil {
		t.Errorf("copy lost the timeout or lacks the policy: %+v", c)
	}
}
