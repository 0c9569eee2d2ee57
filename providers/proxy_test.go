package providers_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/desecfake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/hetznerfake"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/route53fake"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

// Go reads HTTPS_PROXY and SSL_CERT_FILE once per process, so each case
// runs in a child: this test binary again, with the case in proxyCaseEnv
// (see TestMain).
const (
	proxyCaseEnv    = "MTASTS_SYNC_PROXY_CASE"
	proxyResultMark = "PROXY-CASE-RESULT: "
	proxyToken      = "proxy-test-token"
	proxyZone       = "example.com"
	policyDomain    = "example.test"
	mailcowHost     = "mail.example.com"
)

// connectProxy is an HTTP CONNECT proxy on loopback that records each
// CONNECT target and tunnels every one of them to front, whatever it names.
type connectProxy struct {
	ln    net.Listener
	front string

	mu      sync.Mutex
	targets []string
}

func startConnectProxy(t *testing.T, front string) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln, front: front}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *connectProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *connectProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.tunnel(c)
	}
}

func (p *connectProxy) tunnel(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, req.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.front)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (p *connectProxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.targets
	p.targets = nil
	return out
}

// proxyWorld is every fake behind one TLS front that serves the real API
// host names with a certificate from a test CA.
type proxyWorld struct {
	front  string // host:port of the TLS front
	caFile string
	proxy  *connectProxy
}

func startProxyWorld(t *testing.T) *proxyWorld {
	t.Helper()
	cf := cloudflarefake.New(proxyToken, fakeapi.Options{})
	t.Cleanup(cf.Close)
	cf.AddZone(proxyZone)
	hz := hetznerfake.New(proxyToken, fakeapi.Options{})
	t.Cleanup(hz.Close)
	hz.AddZone(proxyZone)
	r53 := route53fake.New(proxyToken, fakeapi.Options{})
	t.Cleanup(r53.Close)
	r53.AddZone(proxyZone)
	ds := desecfake.New(proxyToken, fakeapi.Options{})
	t.Cleanup(ds.Close)
	ds.AddZone(proxyZone)
	mc := mailcowtest.New(proxyToken)
	t.Cleanup(mc.Close)
	mc.AddDomain(mailcowtest.Domain{Name: proxyZone, Active: true})

	backends := map[string]string{
		"api.cloudflare.com":    cf.URL(),
		"api.hetzner.cloud":     hz.URL(),
		"route53.amazonaws.com": r53.URL(),
		"desec.io":              ds.URL(),
		mailcowHost:             mc.URL(),
	}
	hop := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the fakes' own certificates
	t.Cleanup(hop.CloseIdleConnections)
	mux := http.NewServeMux()
	mux.HandleFunc("mta-sts."+policyDomain+"/.well-known/mta-sts.txt", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 604800\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		backend, ok := backends[host]
		if !ok {
			http.Error(w, "no backend for "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		u, _ := url.Parse(backend)
		rp := &httputil.ReverseProxy{Transport: hop, Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		}}
		rp.ServeHTTP(w, r)
	})
	ca := checktest.NewCA(t)
	names := []string{"mta-sts." + policyDomain}
	for h := range backends {
		names = append(names, h)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*ca.Issue(t, names, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing-trust cases end in handshake errors
	srv.StartTLS()
	t.Cleanup(srv.Close)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	front := strings.TrimPrefix(srv.URL, "https://")
	return &proxyWorld{front: front, caFile: caFile, proxy: startConnectProxy(t, front)}
}

// child runs one case in a child process with env on top of a clean
// environment, and returns what the case reported.
func (w *proxyWorld) child(t *testing.T, name string, env map[string]string) (result string, targets []string) {
	t.Helper()
	w.proxy.take()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUEST_METHOD":
			continue
		}
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "LIBDNS_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env,
		proxyCaseEnv+"="+name,
		"SSL_CERT_DIR="+t.TempDir(), // no system CA directory: only SSL_CERT_FILE is trusted
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_REGION="+route53fake.Region,
		"FRONT_ADDR="+w.front,
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if r, ok := strings.CutPrefix(line, proxyResultMark); ok {
			return r, w.proxy.take()
		}
	}
	t.Fatalf("case %s: child gave no result (%v):\n%s", name, err, out)
	return "", nil
}

// TestProxyAndTrust proves that each HTTP client we build sends HTTPS
// through HTTPS_PROXY and trusts the CAs of SSL_CERT_FILE, as Go's
// defaults do, the publish gate's policy fetch included (a mail server
// behind an egress proxy must still be able to fetch its own policies).
func TestProxyAndTrust(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process per case")
	}
	w := startProxyWorld(t)
	viaProxy := map[string]string{"HTTPS_PROXY": w.proxy.URL(), "SSL_CERT_FILE": w.caFile}
	for _, tc := range []struct {
		label, name string
		env         map[string]string
		target      string // the CONNECT target expected; "" for none
		wantOK      bool
		errHas      string
	}{
		{label: "cloudflare via HTTPS_PROXY trusting SSL_CERT_FILE", name: "cloudflare", env: viaProxy, target: "api.cloudflare.com:443", wantOK: true},
		{label: "hetzner via HTTPS_PROXY trusting SSL_CERT_FILE", name: "hetzner", env: viaProxy, target: "api.hetzner.cloud:443", wantOK: true},
		{label: "route53 via HTTPS_PROXY trusting SSL_CERT_FILE", name: "route53", env: viaProxy, target: "route53.amazonaws.com:443", wantOK: true},
		{label: "desec via HTTPS_PROXY trusting SSL_CERT_FILE", name: "desec", env: viaProxy, target: "desec.io:443", wantOK: true},
		{label: "mailcow via HTTPS_PROXY trusting SSL_CERT_FILE", name: "mailcow", env: viaProxy, target: mailcowHost + ":443", wantOK: true},
		// Without the test CA the same tunnel fails: trust came from SSL_CERT_FILE.
		{label: "cloudflare untrusted without SSL_CERT_FILE", name: "cloudflare", env: map[string]string{"HTTPS_PROXY": w.proxy.URL(), "SSL_CERT_FILE": os.DevNull}, target: "api.cloudflare.com:443", errHas: "certificate"},
		{label: "mailcow untrusted without SSL_CERT_FILE", name: "mailcow", env: map[string]string{"HTTPS_PROXY": w.proxy.URL(), "SSL_CERT_FILE": os.DevNull}, target: mailcowHost + ":443", errHas: "certificate"},
		{label: "policy-fetch via HTTPS_PROXY trusting SSL_CERT_FILE", name: "policy-fetch", env: viaProxy, target: "mta-sts." + policyDomain + ":443", wantOK: true},
		// Through its Dialer (straight to the front) it trusts SSL_CERT_FILE.
		{label: "policy-fetch trusts SSL_CERT_FILE", name: "policy-fetch-dialer", env: map[string]string{"SSL_CERT_FILE": w.caFile}, target: "", wantOK: true},
		{label: "policy-fetch-dialer untrusted without SSL_CERT_FILE", name: "policy-fetch-dialer", env: map[string]string{"SSL_CERT_FILE": os.DevNull}, target: "", errHas: "certificate"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			result, targets := w.child(t, tc.name, tc.env)
			t.Logf("%s: result %q, CONNECT targets %v", tc.name, result, targets)
			if tc.wantOK && result != "ok" {
				t.Errorf("%s failed: %s", tc.name, result)
			}
			if !tc.wantOK && !strings.Contains(result, tc.errHas) {
				t.Errorf("%s: result %q, want an error containing %q", tc.name, result, tc.errHas)
			}
			switch {
			case tc.target == "" && len(targets) > 0:
				t.Errorf("CONNECT targets %v, want none", targets)
			case tc.target != "" && len(targets) == 0:
				t.Errorf("no CONNECT through HTTPS_PROXY, want %s", tc.target)
			}
			for _, got := range targets {
				if tc.target != "" && got != tc.target {
					t.Errorf("CONNECT %s, want only %s", got, tc.target)
				}
			}
		})
	}
}

// TestMain runs one case of TestProxyAndTrust when this binary was started
// as its child: Go reads HTTPS_PROXY and SSL_CERT_FILE once per process,
// so every case needs a process of its own.
func TestMain(m *testing.M) {
	if name := os.Getenv(proxyCaseEnv); name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := proxyCase(ctx, name)
		cancel()
		result := "ok"
		if err != nil {
			result = "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Println(proxyResultMark + result)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func proxyCase(ctx context.Context, name string) error {
	read := func(typ string, settings map[string]string) error {
		p, err := providers.Build(ctx, typ, typ, settings, providers.Options{CallTimeout: 15 * time.Second})
		if err != nil {
			return err
		}
		_, err = p.Zone(proxyZone).Records(ctx)
		return err
	}
	switch name {
	case "cloudflare":
		return read("cloudflare", map[string]string{"api_token": proxyToken})
	case "hetzner":
		return read("hetzner", map[string]string{"api_token": proxyToken})
	case "route53":
		return read("route53", map[string]string{"access_key_id": proxyToken, "secret_access_key": route53fake.SecretAccessKey, "region": route53fake.Region})
	case "desec":
		return read("desec", map[string]string{"token": proxyToken})
	case "mailcow":
		return mailcowInventory(ctx)
	case "policy-fetch":
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := check.New(check.Options{Timeout: 5 * time.Second}).FetchPolicy(ctx, policyDomain)
		return err
	case "policy-fetch-dialer":
		d := checktest.Dialer{Routes: map[string]string{"mta-sts." + policyDomain + ":443": os.Getenv("FRONT_ADDR")}}
		_, err := check.New(check.Options{Dialer: d, Timeout: 5 * time.Second}).FetchPolicy(ctx, policyDomain)
		return err
	}
	return fmt.Errorf("unknown case %q", name)
}

// mailcowInventory asks mailcow for its domains through the client the
// engine builds from a config.
func mailcowInventory(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "mtasts-sync-proxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	yaml := fmt.Sprintf(`policy_host: %s
publish_gate: false
mailcow:
  url: https://%s
  api_key: %s
providers:
  files:
    type: zonefile
    directory: .
provider: files
zones:
  %s: files
`, mailcowHost, mailcowHost, proxyToken, proxyZone)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "mtasts-sync.yaml"), engine.ConfigOptions())
	if err != nil {
		return err
	}
	eng, err := engine.New(ctx, cfg, engine.Options{NoPublishGate: true})
	if err != nil {
		return err
	}
	inv, err := eng.Inventory(ctx)
	if err != nil {
		return err
	}
	if len(inv.Targets) != 1 || inv.Targets[0].Domain != proxyZone {
		return fmt.Errorf("mailcow gave %+v, want %s", inv.Targets, proxyZone)
	}
	return nil
}
