package check_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// goodPolicy is what a correct domain serves; its id is what its TXT carries.
var goodPolicy = mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}

const goodBody = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"

// world is one scenario's view of the internet, all on loopback.
type world struct {
	domain  string // A-label
	records []string
	rcodes  map[string]int
	recurse bool

	// policy host
	policyCert func(w *world) *tls.Certificate
	policyTLS  uint16 // max TLS version; 0 = default
	policy     http.HandlerFunc

	// SMTP: one server per MX name; nil entry = default good server
	smtpNoTLS   map[string]bool
	smtpCert    map[string]func(w *world) *tls.Certificate
	smtpMaxTLS  map[string]uint16
	unreachable []string // dial targets left unrouted

	ca  *checktest.CA  // set by start
	dns *checktest.DNS // set by start
	t   testing.TB     // set by start
}

// now anchors certificate lifetimes; the checks themselves use the real clock.
var now = time.Now()

func validCert(names ...string) func(*world) *tls.Certificate {
	return certFor(names, now.Add(-time.Hour), now.Add(90*24*time.Hour))
}

func certFor(names []string, notBefore, notAfter time.Time) func(*world) *tls.Certificate {
	return func(w *world) *tls.Certificate { return w.ca.Issue(w.t, names, notBefore, notAfter) }
}

func baseRecords(d, id string) []string {
	return []string{
		fmt.Sprintf("%s. 300 IN MX 10 mail.%s.", d, d),
		fmt.Sprintf("mail.%s. 300 IN A 192.0.2.1", d),
		fmt.Sprintf("mta-sts.%s. 300 IN CNAME mail.%s.", d, d),
		fmt.Sprintf(`_mta-sts.%s. 300 IN TXT "v=STSv1; id=%s"`, d, id),
		fmt.Sprintf(`_smtp._tls.%s. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@%s"`, d, d),
	}
}

func serve(body, contentType string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", contentType)
		_, _ = rw.Write([]byte(body))
	}
}

// replace returns records with every record whose text starts with prefix replaced by with (none = removed).
func replace(records []string, prefix string, with ...string) []string {
	var out []string
	for _, r := range records {
		if !strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return append(out, with...)
}

func goodWorld() *world {
	return &world{
		domain:     "example.com",
		records:    baseRecords("example.com", goodPolicy.ID()),
		policyCert: validCert("mta-sts.example.com"),
		policy:     serve(goodBody, "text/plain; charset=utf-8"),
	}
}

// start runs the world's servers and returns the options that reach them.
func (w *world) start(t *testing.T) check.Options {
	t.Helper()
	w.t, w.ca = t, checktest.NewCA(t)
	d := checktest.StartDNS(t, checktest.DNSConfig{Records: w.records, Rcodes: w.rcodes, Recursive: w.recurse})
	w.dns = d
	routes := map[string]string{}
	cfg := &tls.Config{GetCertificate: checktest.CertsBySNI(nil, w.policyCert(w)), MaxVersion: w.policyTLS}
	if w.policyTLS != 0 && w.policyTLS < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS10
	}
	routes["mta-sts."+w.domain+":443"] = checktest.StartHTTPS(t, cfg, w.policy)

	var mxs []string
	for _, r := range w.records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatal(err)
		}
		if mx, ok := rr.(*dns.MX); ok && mx.Mx != "." {
			mxs = append(mxs, strings.TrimSuffix(mx.Mx, "."))
		}
	}
	for _, mx := range mxs {
		var scfg *tls.Config
		if !w.smtpNoTLS[mx] {
			cert := validCert(mx)
			if f := w.smtpCert[mx]; f != nil {
				cert = f
			}
			scfg = &tls.Config{Certificates: []tls.Certificate{*cert(w)}, MaxVersion: w.smtpMaxTLS[mx]}
			if v := w.smtpMaxTLS[mx]; v != 0 && v < tls.VersionTLS12 {
				scfg.MinVersion = tls.VersionTLS10
			}
		}
		routes[mx+":25"] = checktest.StartSMTP(t, scfg)
	}
	for _, u := range w.unreachable {
		delete(routes, u)
	}
	return check.Options{
		Resolver: d.Addr,
		Dialer:   checktest.Dialer{Routes: routes},
		RootCAs:  w.ca.Pool,
		Timeout:  10 * time.Second,
	}
}

type want struct {
	verdict check.Verdict
	reason  string // substring of the reason; "" = any
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		input  string // domain given to Check; "" = w.domain
		world  func() *world
		smtp   bool
		expect *check.Expected
		want   map[string]want
		absent []string
	}{
		{
			name: "correct domain", world: goodWorld, smtp: true,
			expect: &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()},
			want: map[string]want{
				"mx":                    {check.Pass, "mail.example.com (10)"},
				"sts-record":            {check.Pass, "id=" + goodPolicy.ID()},
				"policy-host":           {check.Pass, "https://mta-sts.example.com/.well-known/mta-sts.txt"},
				"policy":                {check.Pass, "mode enforce, max_age 604800, mx mail.example.com"},
				"mx-coverage":           {check.Pass, ""},
				"smtp mail.example.com": {check.Pass, "TLS 1.3"},
				"tlsrpt-record":         {check.Pass, "mailto:tls-reports@example.com"},
				"consistency":           {check.Pass, ""},
			},
		},
		{
			name: "mailcow spelling v=STSv1;id=X;",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.", `_mta-sts.example.com. 300 IN TXT "v=STSv1;id=mailcow1;"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Pass, "id=mailcow1"}},
		},
		{
			name: "character-strings joined without spaces",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.", `_mta-sts.example.com. 300 IN TXT "v=STSv1; " "id=split1"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Pass, "id=split1"}},
		},
		{
			name: "delegated CNAME, authoritative answers",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.",
					"_mta-sts.example.com. 300 IN CNAME _mta-sts.primary.example.",
					`_mta-sts.primary.example. 300 IN TXT "v=STSv1; id=prim1"`)
				w.records = replace(w.records, "_smtp._tls.",
					"_smtp._tls.example.com. 300 IN CNAME _smtp._tls.primary.example.",
					`_smtp._tls.primary.example. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@primary.example"`)
				return w
			},
			want: map[string]want{
				"sts-record":    {check.Pass, "via CNAME _mta-sts.example.com → _mta-sts.primary.example): id=prim1"},
				"tlsrpt-record": {check.Pass, "via CNAME _smtp._tls.example.com → _smtp._tls.primary.example"},
			},
		},
		{
			name: "delegated CNAME chain, recursive resolver",
			world: func() *world {
				w := goodWorld()
				w.recurse = true
				w.records = replace(w.records, "_mta-sts.",
					"_mta-sts.example.com. 300 IN CNAME _mta-sts.mid.example.",
					"_mta-sts.mid.example. 300 IN CNAME _mta-sts.primary.example.",
					`_mta-sts.primary.example. 300 IN TXT "v=STSv1; id=prim1"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Pass, "_mta-sts.example.com → _mta-sts.mid.example → _mta-sts.primary.example"}},
		},
		{
			name: "CNAME loop",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.",
					"_mta-sts.example.com. 300 IN CNAME _mta-sts.a.example.",
					"_mta-sts.a.example. 300 IN CNAME _mta-sts.example.com.")
				return w
			},
			want: map[string]want{"sts-record": {check.Fail, "CNAME loop"}},
		},
		{
			name:  "IDN domain",
			input: "bücher.example",
			world: func() *world {
				d := "xn--bcher-kva.example"
				body := "version: STSv1\nmode: enforce\nmx: mail." + d + "\nmax_age: 604800\n"
				return &world{
					domain:     d,
					records:    baseRecords(d, "idn1"),
					policyCert: validCert("mta-sts." + d),
					policy:     serve(body, "text/plain"),
				}
			},
			smtp: true,
			want: map[string]want{
				"mx":                              {check.Pass, "mail.xn--bcher-kva.example"},
				"sts-record":                      {check.Pass, "id=idn1"},
				"policy-host":                     {check.Pass, "mta-sts.xn--bcher-kva.example"},
				"policy":                          {check.Pass, ""},
				"mx-coverage":                     {check.Pass, ""},
				"smtp mail.xn--bcher-kva.example": {check.Pass, ""},
				"tlsrpt-record":                   {check.Pass, ""},
			},
		},
		{
			name: "LF-only policy passes",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(strings.ReplaceAll(goodBody, "\r\n", "\n"), "text/plain")
				return w
			},
			want: map[string]want{"policy-host": {check.Pass, ""}, "policy": {check.Pass, ""}},
		},
		{
			name: "policy without final line terminator passes",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(strings.TrimSuffix(goodBody, "\r\n"), "text/plain")
				return w
			},
			want: map[string]want{"policy": {check.Pass, ""}},
		},
		{
			name: "http rua fails",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_smtp._tls.", `_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=http://reports.example.com/tlsrpt"`)
				return w
			},
			want: map[string]want{"tlsrpt-record": {check.Fail, "http://reports.example.com/tlsrpt"}},
		},
		{
			name: "unencoded ! in rua fails",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_smtp._tls.", `_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:a!b@example.com"`)
				return w
			},
			want: map[string]want{"tlsrpt-record": {check.Fail, ""}},
		},
		{
			name: "https rua and two URIs pass",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_smtp._tls.", `_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.com/tlsrpt"`)
				return w
			},
			want: map[string]want{"tlsrpt-record": {check.Pass, "mailto:a@example.com,https://r.example.com/tlsrpt"}},
		},
		{
			name: "no TLSRPT record warns",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_smtp._tls.")
				return w
			},
			want: map[string]want{"tlsrpt-record": {check.Warn, "no TLSRPT record"}},
		},
		{
			name: "two TLSRPT records fail",
			world: func() *world {
				w := goodWorld()
				w.records = append(w.records, `_smtp._tls.example.com. 300 IN TXT "v=TLSRPTv1; rua=mailto:other@example.com"`)
				return w
			},
			want: map[string]want{"tlsrpt-record": {check.Fail, "2 v=TLSRPTv1 records"}},
		},
		{
			name: "two STS records fail",
			world: func() *world {
				w := goodWorld()
				w.records = append(w.records, `_mta-sts.example.com. 300 IN TXT "v=STSv1; id=other"`)
				return w
			},
			expect: &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()},
			want: map[string]want{
				"sts-record":  {check.Fail, "senders see no policy"},
				"consistency": {check.Fail, "no usable _mta-sts TXT record"},
			},
		},
		{
			name: "foreign TXT next to the STS record is ignored",
			world: func() *world {
				w := goodWorld()
				w.records = append(w.records, `_mta-sts.example.com. 300 IN TXT "google-site-verification=abc"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Pass, ""}},
		},
		{
			name: "v=STSv1 ; warns (errata 6285)",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.", `_mta-sts.example.com. 300 IN TXT "v=STSv1 ; id=sp1"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Warn, "id=sp1"}},
		},
		{
			name: "only records senders discard fail",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.",
					`_mta-sts.example.com. 300 IN TXT "V=STSv1; id=upper"`,
					`_mta-sts.example.com. 300 IN TXT "v=STSv1"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Fail, `"V=STSv1; id=upper"`}},
		},
		{
			name: "STS record without id fails",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.", `_mta-sts.example.com. 300 IN TXT "v=STSv1; ext=1"`)
				return w
			},
			want: map[string]want{"sts-record": {check.Fail, "no id field"}},
		},
		{
			name: "no STS record fails",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "_mta-sts.")
				return w
			},
			want: map[string]want{"sts-record": {check.Fail, "no MTA-STS record"}},
		},
		{
			name: "SERVFAIL on _mta-sts fails",
			world: func() *world {
				w := goodWorld()
				w.rcodes = map[string]int{"_mta-sts.example.com.": dns.RcodeServerFailure}
				return w
			},
			want: map[string]want{"sts-record": {check.Fail, "SERVFAIL"}},
		},
		{
			name: "many TXT records need TCP",
			world: func() *world {
				w := goodWorld()
				for i := range 12 {
					w.records = append(w.records, fmt.Sprintf(`_mta-sts.example.com. 300 IN TXT "filler%d-%s"`, i, strings.Repeat("x", 200)))
				}
				return w
			},
			want: map[string]want{"sts-record": {check.Pass, "id=" + goodPolicy.ID()}},
		},
		{
			name: "no MX fails",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "example.com. 300 IN MX")
				return w
			},
			want:   map[string]want{"mx": {check.Fail, "no MX records"}},
			absent: []string{"mx-coverage"},
		},
		{
			name: "null MX warns",
			world: func() *world {
				w := goodWorld()
				w.records = replace(w.records, "example.com. 300 IN MX", "example.com. 300 IN MX 0 .")
				return w
			},
			want:   map[string]want{"mx": {check.Warn, "null MX"}},
			absent: []string{"mx-coverage"},
		},
		{
			name:  "nonexistent domain fails",
			world: goodWorld,
			input: "nowhere.example",
			want: map[string]want{
				"mx":          {check.Fail, "NXDOMAIN"},
				"sts-record":  {check.Fail, "no MTA-STS record"},
				"policy-host": {check.Fail, "no route"},
			},
		},
		{
			name:  "invalid domain fails",
			world: goodWorld,
			input: "exa mple..com",
			want:  map[string]want{"domain": {check.Fail, "not a valid domain name"}},
		},
		{
			name: "certificate for the wrong name fails",
			world: func() *world {
				w := goodWorld()
				w.policyCert = validCert("mail.example.com")
				return w
			},
			want: map[string]want{"policy-host": {check.Fail,
				"https://mta-sts.example.com/.well-known/mta-sts.txt: x509: certificate is valid for mail.example.com, not mta-sts.example.com"}},
			absent: []string{"policy", "mx-coverage"},
		},
		{
			name: "wildcard certificate passes",
			world: func() *world {
				w := goodWorld()
				w.policyCert = validCert("*.example.com")
				return w
			},
			want: map[string]want{"policy-host": {check.Pass, ""}},
		},
		{
			name: "expired certificate fails",
			world: func() *world {
				w := goodWorld()
				w.policyCert = certFor([]string{"mta-sts.example.com"}, now.Add(-90*24*time.Hour), now.Add(-time.Hour))
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "renew it"}},
		},
		{
			name: "certificate expiring in 5 days warns",
			world: func() *world {
				w := goodWorld()
				w.policyCert = certFor([]string{"mta-sts.example.com"}, now.Add(-time.Hour), now.Add(5*24*time.Hour))
				return w
			},
			want: map[string]want{"policy-host": {check.Warn, "expires in"}, "policy": {check.Pass, ""}},
		},
		{
			name: "self-signed certificate fails",
			world: func() *world {
				w := goodWorld()
				w.policyCert = func(w *world) *tls.Certificate {
					return checktest.SelfSigned(w.t, []string{"mta-sts.example.com"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
				}
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "unknown authority"}},
		},
		{
			name: "TLS 1.1 policy host fails",
			world: func() *world {
				w := goodWorld()
				w.policyTLS = tls.VersionTLS11
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "TLS 1.2"}},
		},
		{
			name: "unreachable policy host fails",
			world: func() *world {
				w := goodWorld()
				w.unreachable = []string{"mta-sts.example.com:443"}
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "cannot connect"}},
		},
		{
			name: "redirect fails",
			world: func() *world {
				w := goodWorld()
				w.policy = func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "https://mail.example.com/.well-known/mta-sts.txt", http.StatusMovedPermanently)
				}
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "redirects must not be followed"}},
		},
		{
			name: "404 fails",
			world: func() *world {
				w := goodWorld()
				w.policy = http.NotFound
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "404"}},
		},
		{
			name: "text/html warns",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(goodBody, "text/html; charset=utf-8")
				return w
			},
			want: map[string]want{"policy-host": {check.Warn, "text/html"}, "policy": {check.Pass, ""}},
		},
		{
			name: "body over 64 KiB fails",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(goodBody+strings.Repeat("x-pad: yyyyyyyyyyyyyyy\r\n", 3000), "text/plain")
				return w
			},
			want: map[string]want{"policy-host": {check.Fail, "64 KiB"}},
		},
		{
			name: "invalid policy fails",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(strings.Replace(goodBody, "mode: enforce", "mode: Enforce", 1), "text/plain")
				return w
			},
			want: map[string]want{"policy-host": {check.Pass, ""}, "policy": {check.Fail, "Enforce"}},
		},
		{
			name: "bare CR in policy fails",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(strings.ReplaceAll(goodBody, "\r\n", "\r"), "text/plain")
				return w
			},
			want: map[string]want{"policy": {check.Fail, ""}},
		},
		{
			name: "short max_age warns",
			world: func() *world {
				w := goodWorld()
				w.policy = serve("version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 3600\n", "text/plain")
				return w
			},
			want: map[string]want{"policy": {check.Warn, "max_age 3600"}},
		},
		{
			name: "enforce with max_age under a week warns",
			world: func() *world {
				w := goodWorld()
				w.policy = serve("version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n", "text/plain")
				return w
			},
			want: map[string]want{"policy": {check.Warn, "under a week"}},
		},
		{
			name: "wildcard mx pattern covers",
			world: func() *world {
				w := goodWorld()
				w.policy = serve("version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 604800\n", "text/plain")
				return w
			},
			want: map[string]want{"mx-coverage": {check.Pass, ""}},
		},
		{
			name: "uncovered MX under enforce fails",
			world: func() *world {
				w := goodWorld()
				w.records = append(w.records, "example.com. 300 IN MX 20 backup.example.net.")
				return w
			},
			want: map[string]want{"mx": {check.Pass, "mail.example.com (10), backup.example.net (20)"}, "mx-coverage": {check.Fail, "backup.example.net"}},
		},
		{
			name: "uncovered MX under testing warns",
			world: func() *world {
				w := goodWorld()
				w.records = append(w.records, "example.com. 300 IN MX 20 backup.example.net.")
				w.policy = serve(strings.Replace(goodBody, "enforce", "testing", 1), "text/plain")
				return w
			},
			want: map[string]want{"mx-coverage": {check.Warn, "backup.example.net"}},
		},
		{
			name: "uncovered MX under none passes",
			world: func() *world {
				w := goodWorld()
				w.records = append(w.records, "example.com. 300 IN MX 20 backup.example.net.")
				w.policy = serve("version: STSv1\nmode: none\nmax_age: 86400\n", "text/plain")
				return w
			},
			want: map[string]want{"mx-coverage": {check.Pass, "no effect"}},
		},
		{
			name: "MX without STARTTLS fails",
			world: func() *world {
				w := goodWorld()
				w.smtpNoTLS = map[string]bool{"mail.example.com": true}
				return w
			},
			smtp: true,
			want: map[string]want{"smtp mail.example.com": {check.Fail, "does not offer STARTTLS"}},
		},
		{
			name: "MX certificate for the wrong name fails",
			world: func() *world {
				w := goodWorld()
				w.smtpCert = map[string]func(*world) *tls.Certificate{"mail.example.com": validCert("other.example.com")}
				return w
			},
			smtp: true,
			want: map[string]want{"smtp mail.example.com": {check.Fail, "x509: certificate is valid for other.example.com, not mail.example.com"}},
		},
		{
			name: "MX certificate for the wrong name under testing fails, saying senders still deliver",
			world: func() *world {
				w := goodWorld()
				w.policy = serve(strings.Replace(goodBody, "enforce", "testing", 1), "text/plain")
				w.smtpCert = map[string]func(*world) *tls.Certificate{"mail.example.com": validCert("other.example.com")}
				return w
			},
			smtp: true,
			want: map[string]want{"smtp mail.example.com": {check.Fail, "under mode testing"}},
		},
		{
			name: "MX with TLS 1.1 fails",
			world: func() *world {
				w := goodWorld()
				w.smtpMaxTLS = map[string]uint16{"mail.example.com": tls.VersionTLS11}
				return w
			},
			smtp: true,
			want: map[string]want{"smtp mail.example.com": {check.Fail, "TLS 1.1"}},
		},
		{
			name: "unreachable MX fails",
			world: func() *world {
				w := goodWorld()
				w.unreachable = []string{"mail.example.com:25"}
				return w
			},
			smtp: true,
			want: map[string]want{"smtp mail.example.com": {check.Fail, "cannot connect"}},
		},
		{
			name:   "without Options.SMTP no MX is probed",
			world:  goodWorld,
			absent: []string{"smtp mail.example.com", "consistency"},
			want:   map[string]want{"mx": {check.Pass, ""}},
		},
		{
			name:   "consistency: id not bumped",
			world:  goodWorld,
			expect: &check.Expected{Policy: goodPolicy, ID: "newid"},
			want:   map[string]want{"consistency": {check.Fail, "id not bumped"}},
		},
		{
			name:  "consistency: policy changed but id already bumped",
			world: goodWorld,
			expect: &check.Expected{
				Policy: mtasts.Policy{Mode: mtasts.ModeTesting, MaxAge: 604800, MX: []string{"mail.example.com"}},
				ID:     goodPolicy.ID(),
			},
			want: map[string]want{"consistency": {check.Fail, "mode enforce, config testing"}},
		},
		{
			name:  "consistency: server serves a different policy",
			world: goodWorld,
			expect: &check.Expected{
				Policy: mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "mx2.example.com"}},
				ID:     "otherid",
			},
			want: map[string]want{"consistency": {check.Fail, "server serves a different policy than the config"}},
		},
		{
			name: "consistency: equal policies in another order and case pass",
			world: func() *world {
				w := goodWorld()
				w.policy = serve("version: STSv1\nmode: enforce\nmx: MX2.example.com\nmx: mail.example.com\nmax_age: 604800\n", "text/plain")
				return w
			},
			expect: &check.Expected{
				Policy: mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "mx2.example.com"}},
				ID:     goodPolicy.ID(),
			},
			want: map[string]want{"consistency": {check.Pass, ""}},
		},
		{
			name: "consistency: nothing served",
			world: func() *world {
				w := goodWorld()
				w.policy = http.NotFound
				return w
			},
			expect: &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()},
			want:   map[string]want{"consistency": {check.Fail, "no usable policy served; fix the policy host first (see policy-host; apply cannot fix it)"}},
		},
		{
			name: "consistency: a certificate for another name is the policy host's problem, not apply's",
			world: func() *world {
				w := goodWorld()
				w.policyCert = validCert("mail.example.com")
				return w
			},
			expect: &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()},
			want: map[string]want{
				"policy-host": {check.Fail, "not mta-sts.example.com"},
				"consistency": {check.Fail, "no usable policy served; fix the policy host first (see policy-host; apply cannot fix it)"},
			},
		},
		{
			name: "consistency: an invalid policy file is fixed at the file",
			world: func() *world {
				w := goodWorld()
				w.policy = serve("version: STSv1\nmode: sometimes\n", "text/plain")
				return w
			},
			expect: &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()},
			want:   map[string]want{"consistency": {check.Fail, "no usable policy served; fix the served policy file first"}},
		},
		{
			name: "consistency: a broken policy host and a missing TXT need both fixes, in order",
			world: func() *world {
				w := goodWorld()
				w.policy = http.NotFound
				w.records = replace(w.records, "_mta-sts.")
				return w
			},
			expect: &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()},
			want: map[string]want{"consistency": {check.Fail,
				"no usable policy served, no usable _mta-sts TXT record; fix the policy host first (see policy-host; apply cannot fix it), then run apply"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.world()
			opts := w.start(t)
			opts.SMTP = tt.smtp
			opts.Expected = tt.expect
			input := tt.input
			if input == "" {
				input = w.domain
			}
			rep := check.New(opts).Check(context.Background(), input)
			got := map[string]check.Result{}
			for _, r := range rep.Results {
				if _, dup := got[r.Check]; dup {
					t.Errorf("check %q reported twice", r.Check)
				}
				got[r.Check] = r
			}
			for name, wt := range tt.want {
				r, ok := got[name]
				if !ok {
					t.Errorf("check %q missing; report:\n%s", name, dump(rep))
					continue
				}
				if r.Verdict != wt.verdict || !strings.Contains(r.Reason, wt.reason) {
					t.Errorf("check %q = %s %q, want %s containing %q", name, r.Verdict, r.Reason, wt.verdict, wt.reason)
				}
			}
			for _, name := range tt.absent {
				if r, ok := got[name]; ok {
					t.Errorf("check %q present (%s %q), want absent", name, r.Verdict, r.Reason)
				}
			}
			for _, r := range rep.Results {
				if r.Reason == "" {
					t.Errorf("check %q has no reason", r.Check)
				}
			}
		})
	}
}

func dump(rep check.Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "  %-24s %-4s %s\n", r.Check, r.Verdict, r.Reason)
	}
	return b.String()
}

// TestCheckOrderAndJSON pins the order of checks and the JSON shape the CLI prints.
func TestCheckOrderAndJSON(t *testing.T) {
	w := goodWorld()
	opts := w.start(t)
	opts.SMTP = true
	opts.Expected = &check.Expected{Policy: goodPolicy, ID: goodPolicy.ID()}
	rep := check.New(opts).Check(context.Background(), "Example.COM.")
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Check)
	}
	wantNames := []string{"mx", "sts-record", "policy-host", "policy", "mx-coverage", "smtp mail.example.com", "dane mail.example.com", "tlsrpt-record", "consistency"}
	if strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Fatalf("checks = %v, want %v\n%s", names, wantNames, dump(rep))
	}
	if rep.Domain != "example.com" {
		t.Errorf("Domain = %q, want example.com", rep.Domain)
	}
	if got := rep.Worst(); got != check.Pass {
		t.Errorf("Worst() = %s, want pass\n%s", got, dump(rep))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Domain string `json:"domain"`
		Checks []struct {
			Check, Verdict, Reason string
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Domain != "example.com" || len(decoded.Checks) != len(wantNames) || decoded.Checks[0].Verdict != "pass" {
		t.Errorf("JSON = %s", b)
	}
}

func TestWorst(t *testing.T) {
	tests := []struct {
		verdicts []check.Verdict
		want     check.Verdict
	}{
		{nil, check.Pass},
		{[]check.Verdict{check.Pass, check.Pass}, check.Pass},
		{[]check.Verdict{check.Pass, check.Warn, check.Pass}, check.Warn},
		{[]check.Verdict{check.Warn, check.Fail, check.Pass}, check.Fail},
		{[]check.Verdict{check.Fail, check.Warn}, check.Fail},
	}
	for _, tt := range tests {
		var rep check.Report
		for _, v := range tt.verdicts {
			rep.Results = append(rep.Results, check.Result{Check: "x", Verdict: v})
		}
		if got := rep.Worst(); got != tt.want {
			t.Errorf("Worst(%v) = %s, want %s", tt.verdicts, got, tt.want)
		}
	}
}

func TestFetchPolicy(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		w := goodWorld()
		w.policy = serve(goodBody, "text/html")
		opts := w.start(t)
		f, err := check.New(opts).FetchPolicy(context.Background(), "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !f.Policy.Equal(goodPolicy) {
			t.Errorf("Policy = %+v, want %+v", f.Policy, goodPolicy)
		}
		if string(f.Body) != goodBody {
			t.Errorf("Body = %q", f.Body)
		}
		if f.CertExpiry.Before(now.Add(89*24*time.Hour)) || f.CertExpiry.After(now.Add(91*24*time.Hour)) {
			t.Errorf("CertExpiry = %v, want about 90 days from now", f.CertExpiry)
		}
		if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "text/html") {
			t.Errorf("Warnings = %q, want one about text/html", f.Warnings)
		}
	})
	t.Run("wrong name", func(t *testing.T) {
		w := &world{domain: "example.org", records: nil, policyCert: validCert("mail.example.com"), policy: serve(goodBody, "text/plain")}
		opts := w.start(t)
		_, err := check.New(opts).FetchPolicy(context.Background(), "example.org")
		want := "https://mta-sts.example.org/.well-known/mta-sts.txt: x509: certificate is valid for mail.example.com, not mta-sts.example.org"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %v, want prefix %q", err, want)
		}
	})
	t.Run("invalid policy", func(t *testing.T) {
		w := goodWorld()
		w.policy = serve("version: STSv1\nmode: enforce\nmax_age: 604800\n", "text/plain")
		opts := w.start(t)
		f, err := check.New(opts).FetchPolicy(context.Background(), "example.com")
		if err == nil || !strings.HasPrefix(err.Error(), "https://mta-sts.example.com/.well-known/mta-sts.txt: ") {
			t.Errorf("err = %v, want an error naming the URL", err)
		}
		if len(f.Body) == 0 {
			t.Error("Body is empty, want the served body for diagnosis")
		}
	})
	t.Run("now decides certificate validity", func(t *testing.T) {
		w := goodWorld()
		opts := w.start(t)
		opts.Now = func() time.Time { return now.Add(100 * 24 * time.Hour) }
		_, err := check.New(opts).FetchPolicy(context.Background(), "example.com")
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("err = %v, want an expired certificate", err)
		}
	})
}

// TestUnreachableResolver checks that a resolver that does not answer makes
// every DNS check fail with the reason instead of passing or hanging.
func TestUnreachableResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // nothing listens now: the kernel answers "connection refused"
	w := goodWorld()
	opts := w.start(t)
	opts.Resolver = addr
	rep := check.New(opts).Check(context.Background(), "example.com")
	for _, r := range rep.Results {
		if r.Check == "mx" || r.Check == "sts-record" || r.Check == "tlsrpt-record" {
			if r.Verdict != check.Fail || !strings.Contains(r.Reason, addr) {
				t.Errorf("check %q = %s %q, want fail naming %s", r.Check, r.Verdict, r.Reason, addr)
			}
		}
	}
}

func TestTruncatedAnswerUsesTCP(t *testing.T) {
	w := goodWorld()
	for i := range 12 {
		w.records = append(w.records, fmt.Sprintf(`_mta-sts.example.com. 300 IN TXT "filler%d-%s"`, i, strings.Repeat("x", 200)))
	}
	opts := w.start(t)
	rep := check.New(opts).Check(context.Background(), "example.com")
	if rep.Results[1].Check != "sts-record" || rep.Results[1].Verdict != check.Pass {
		t.Errorf("sts-record = %+v, want pass", rep.Results[1])
	}
	if w.dns.TCPQueries() == 0 {
		t.Error("no query arrived over TCP after a truncated UDP answer")
	}
}

func TestCancelledContext(t *testing.T) {
	w := goodWorld()
	opts := w.start(t)
	opts.SMTP = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := check.New(opts).Check(ctx, "example.com")
	if rep.Worst() != check.Fail {
		t.Errorf("Worst() = %s, want fail\n%s", rep.Worst(), dump(rep))
	}
	for _, r := range rep.Results {
		if r.Verdict == check.Pass {
			t.Errorf("check %q passed with a cancelled context: %s", r.Check, r.Reason)
		}
	}
}

func TestSMTPPort(t *testing.T) {
	w := goodWorld()
	opts := w.start(t)
	routes := opts.Dialer.(checktest.Dialer).Routes
	routes["mail.example.com:2525"] = routes["mail.example.com:25"]
	delete(routes, "mail.example.com:25")
	opts.SMTP, opts.SMTPPort = true, 2525
	rep := check.New(opts).Check(context.Background(), "example.com")
	for _, r := range rep.Results {
		if r.Check == "smtp mail.example.com" {
			if r.Verdict != check.Pass {
				t.Errorf("smtp on port 2525 = %s %q, want pass", r.Verdict, r.Reason)
			}
			return
		}
	}
	t.Errorf("no smtp check\n%s", dump(rep))
}

// TestSMTPEndlessBanner: an MX host that answers with an endless
// multi-line greeting is cut off once it has sent more than a probe ever
// needs, not read into memory until the timeout.
func TestSMTPEndlessBanner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				line := []byte("220-" + strings.Repeat("A", 1020) + "\r\n")
				// 4 MiB, then silence until the client gives up.
				for range 4 << 10 {
					if _, err := conn.Write(line); err != nil {
						return
					}
				}
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	w := goodWorld()
	opts := w.start(t)
	opts.Dialer.(checktest.Dialer).Routes["mail.example.com:25"] = ln.Addr().String()
	opts.SMTP, opts.Timeout = true, 3*time.Second
	rep := check.New(opts).Check(context.Background(), "example.com")
	for _, r := range rep.Results {
		if r.Check == "smtp mail.example.com" {
			if r.Verdict != check.Fail || !strings.Contains(r.Reason, "sent more than 1024 KiB") {
				t.Errorf("smtp = %s %q, want a fail naming the limit", r.Verdict, r.Reason)
			}
			return
		}
	}
	t.Errorf("no smtp check\n%s", dump(rep))
}
