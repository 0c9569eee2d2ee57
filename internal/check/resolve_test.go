package check_test

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// onlyHere is a domain under .test (RFC 6761): no public resolver knows it,
// so only the test's DNS server can make the check reach its hosts.
const onlyHere = "only-here.test"

// assertUnknownToSystem makes sure the premise holds: the system resolver
// cannot find name, so a pass can only come from the given resolver.
func assertUnknownToSystem(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if addrs, err := net.DefaultResolver.LookupHost(ctx, name); err == nil {
		t.Fatalf("the system resolver knows %s (%v): the test cannot tell which resolver was used", name, addrs)
	}
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// TestOneResolver: with Options.Resolver set and no Dialer, the policy
// host and the MX host are resolved through that resolver, like the
// records; the HTTPS fetch keeps SNI and certificate checks on the name.
func TestOneResolver(t *testing.T) {
	policy := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mx." + onlyHere}}
	for _, name := range []string{"mta-sts." + onlyHere, "mx." + onlyHere} {
		assertUnknownToSystem(t, name)
	}
	ca := checktest.NewCA(t)
	web := checktest.StartHTTPS(t, &tls.Config{GetCertificate: checktest.CertsBySNI(map[string]*tls.Certificate{
		"mta-sts." + onlyHere: ca.Issue(t, []string{"mta-sts." + onlyHere}, now.Add(-time.Hour), now.Add(90*24*time.Hour)),
	}, nil)}, serve(string(policy.Render()), "text/plain"))
	mx := checktest.StartSMTP(t, &tls.Config{Certificates: []tls.Certificate{
		*ca.Issue(t, []string{"mx." + onlyHere}, now.Add(-time.Hour), now.Add(90*24*time.Hour)),
	}})
	d := checktest.StartDNS(t, checktest.DNSConfig{Recursive: true, Records: []string{
		onlyHere + ". 300 IN MX 10 mx." + onlyHere + ".",
		"mx." + onlyHere + ". 300 IN A 127.0.0.1",
		"mta-sts." + onlyHere + ". 300 IN CNAME policy." + onlyHere + ".",
		"policy." + onlyHere + ". 300 IN A 127.0.0.1",
		`_mta-sts.` + onlyHere + `. 300 IN TXT "v=STSv1; id=` + policy.ID() + `"`,
		`_smtp._tls.` + onlyHere + `. 300 IN TXT "v=TLSRPTv1; rua=mailto:r@` + onlyHere + `"`,
	}})
	opts := check.Options{
		Resolver: d.Addr, RootCAs: ca.Pool, Timeout: 10 * time.Second,
		HTTPSPort: port(t, web), SMTP: true, SMTPPort: port(t, mx),
		Expected: &check.Expected{Policy: policy, ID: policy.ID()},
	}
	rep := check.New(opts).Check(context.Background(), onlyHere)
	if rep.Worst() != check.Pass {
		t.Fatalf("Worst() = %s, want pass through the given resolver\n%s", rep.Worst(), dump(rep))
	}
	var sawSMTP bool
	for _, r := range rep.Results {
		sawSMTP = sawSMTP || r.Check == "smtp mx."+onlyHere
	}
	if !sawSMTP {
		t.Errorf("no smtp check for mx.%s\n%s", onlyHere, dump(rep))
	}

	t.Run("name unknown to the resolver", func(t *testing.T) {
		other := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
			onlyHere + ". 300 IN MX 10 mx." + onlyHere + ".",
			`_mta-sts.` + onlyHere + `. 300 IN TXT "v=STSv1; id=` + policy.ID() + `"`,
		}})
		o := opts
		o.Resolver = other.Addr
		rep := check.New(o).Check(context.Background(), onlyHere)
		wantFail := map[string]string{
			"policy-host":         "cannot resolve mta-sts." + onlyHere + " through resolver " + other.Addr,
			"smtp mx." + onlyHere: "cannot resolve mx." + onlyHere + " through resolver " + other.Addr,
			// The missing policy host name is what apply creates.
			"consistency": "no usable policy served; run apply",
		}
		for _, r := range rep.Results {
			want, ok := wantFail[r.Check]
			if !ok {
				continue
			}
			delete(wantFail, r.Check)
			if r.Verdict != check.Fail || !strings.Contains(r.Reason, want) {
				t.Errorf("%s = %s %q, want fail containing %q", r.Check, r.Verdict, r.Reason, want)
			}
		}
		for c := range wantFail {
			t.Errorf("no %s check\n%s", c, dump(rep))
		}
	})
}
