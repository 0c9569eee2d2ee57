package check_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/dane"
)

const (
	soaRecord    = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"
	dnskeyRecord = "example.com. 300 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
	dsRecord     = "example.com. 300 IN DS 2371 13 2 1f987cc6583e92df0890718c42e0d4f1e4a0f9b3c4fd2c4a7c4d2e1d1b3c6a51"
)

// daneWorld is an MX host, mail.example.com, serving chain over STARTTLS,
// with the DNS records of example.com plus extra.
func daneWorld(t *testing.T, chain *tls.Certificate, extra ...string) check.Options {
	t.Helper()
	records := append([]string{
		soaRecord,
		"example.com. 300 IN MX 10 mail.example.com.",
		"mail.example.com. 300 IN A 192.0.2.1",
	}, extra...)
	d := checktest.StartDNS(t, checktest.DNSConfig{Records: records})
	smtp := checktest.StartSMTP(t, &tls.Config{Certificates: []tls.Certificate{*chain}})
	return check.Options{
		Resolver: d.Addr,
		Dialer:   checktest.Dialer{Routes: map[string]string{"mail.example.com:25": smtp}},
		SMTP:     true,
		Timeout:  10 * time.Second,
	}
}

func tlsa(value string) string { return "_25._tcp.mail.example.com. 300 IN TLSA " + value }

func daneResult(t *testing.T, opts check.Options) check.Result {
	t.Helper()
	rep := check.New(opts).Check(context.Background(), "example.com")
	for _, r := range rep.Results {
		if r.Check == "dane mail.example.com" {
			return r
		}
	}
	t.Fatalf("no dane check in the report:\n%s", dump(rep))
	return check.Result{}
}

func TestCheckDANE(t *testing.T) {
	ca := checktest.NewCA(t)
	leaf := ca.Issue(t, []string{"mail.example.com"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	withCA := &tls.Certificate{Certificate: [][]byte{leaf.Certificate[0], ca.Certificate().Raw}, PrivateKey: leaf.PrivateKey}
	self := checktest.SelfSigned(t, []string{"mail.example.com"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	expired := ca.Issue(t, []string{"mail.example.com"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	ee := func(c *tls.Certificate) string { return dane.KeyOf(c.Leaf).Record().String() }
	caSPKI := sha256.Sum256(ca.Certificate().RawSubjectPublicKeyInfo)
	ta := "2 1 1 " + hex.EncodeToString(caSPKI[:])
	stale := "3 1 1 " + strings.Repeat("ab", 32)
	signed := []string{dnskeyRecord, dsRecord}

	tests := []struct {
		name    string
		served  *tls.Certificate
		records []string
		drop    bool // no SMTP server behind the MX
		config  bool // the config publishes TLSA for the MX (dane:)
		want    check.Verdict
		reason  []string
	}{
		{name: "no TLSA records", served: leaf, records: signed, want: check.Pass,
			reason: []string{"no TLSA records at _25._tcp.mail.example.com", "not in use"}},
		{name: "no TLSA records, but the config publishes them", served: leaf, records: signed, config: true, want: check.Warn,
			reason: []string{"the config publishes them for mail.example.com (dane:): run apply"}},
		{name: "3 1 1 matches, zone signed", served: leaf, records: append([]string{tlsa(ee(leaf))}, signed...), want: check.Pass,
			reason: []string{"3 1 1 " + dane.KeyOf(leaf.Leaf).Digest()[:16] + "…", "zone example.com signed (DNSKEY, DS at the parent)"}},
		{name: "self-signed certificate pinned by 3 1 1", served: self, records: append([]string{tlsa(ee(self))}, signed...), want: check.Pass},
		{name: "expired certificate pinned by 3 1 1", served: expired, records: append([]string{tlsa(ee(expired))}, signed...), want: check.Pass},
		{name: "current and next key, current served", served: leaf, records: append([]string{tlsa(stale), tlsa(ee(leaf))}, signed...), want: check.Pass},
		{name: "2 1 1 of the issuing CA, chain presented", served: withCA, records: append([]string{tlsa(ta)}, signed...), want: check.Pass,
			reason: []string{"2 1 1 "}},
		{name: "2 1 1 of the issuing CA, CA not presented", served: leaf, records: append([]string{tlsa(ta)}, signed...), want: check.Fail},
		{name: "matches, zone unsigned", served: leaf, records: []string{tlsa(ee(leaf))}, want: check.Warn,
			reason: []string{"zone example.com is not DNSSEC-signed", "senders ignore its TLSA records"}},
		{name: "matches, DNSKEY but no DS", served: leaf, records: []string{tlsa(ee(leaf)), dnskeyRecord}, want: check.Warn,
			reason: []string{"no DS at its parent"}},
		{name: "no record matches", served: leaf, records: append([]string{tlsa(stale)}, signed...), want: check.Fail,
			reason: []string{"none of the 1 TLSA record(s)", "3 1 1 " + dane.KeyOf(leaf.Leaf).Digest(), "defer mail"}},
		{name: "only PKIX usages", served: leaf, records: append([]string{tlsa("1 1 1 " + dane.KeyOf(leaf.Leaf).Digest())}, signed...), want: check.Fail,
			reason: []string{"no usable TLSA record", "unusable for SMTP"}},
		{name: "records but host unreachable", served: leaf, drop: true, records: append([]string{tlsa(ee(leaf))}, signed...), want: check.Fail,
			reason: []string{"cannot be read", "cannot connect to mail.example.com:25"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := daneWorld(t, tt.served, tt.records...)
			if tt.drop {
				opts.Dialer = checktest.Dialer{}
			}
			if tt.config {
				opts.DANEHosts = []string{"mail.example.com"}
			}
			got := daneResult(t, opts)
			if got.Verdict != tt.want {
				t.Errorf("verdict %s (%s), want %s", got.Verdict, got.Reason, tt.want)
			}
			for _, r := range tt.reason {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q lacks %q", got.Reason, r)
				}
			}
		})
	}
}

func TestZoneDNSSEC(t *testing.T) {
	for _, tc := range []struct {
		records []string
		name    string
		want    check.DNSSEC
	}{
		{[]string{soaRecord, dnskeyRecord, dsRecord}, "_25._tcp.mail.example.com", check.DNSSEC{Zone: "example.com", DNSKEY: true, DS: true, DSKnown: true}},
		{[]string{soaRecord, dnskeyRecord}, "example.com", check.DNSSEC{Zone: "example.com", DNSKEY: true, DSKnown: true}},
		{[]string{soaRecord, "mail.example.com. 300 IN A 192.0.2.1"}, "mail.example.com", check.DNSSEC{Zone: "example.com", DSKnown: true}},
		{[]string{soaRecord, "sub.example.com. 300 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5"}, "x.sub.example.com", check.DNSSEC{Zone: "sub.example.com", DSKnown: true}},
	} {
		d := checktest.StartDNS(t, checktest.DNSConfig{Records: tc.records})
		got, err := check.New(check.Options{Resolver: d.Addr}).ZoneDNSSEC(context.Background(), tc.name)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if got.Signed() != (tc.want.Problem() == "") {
			t.Errorf("%s: Signed() %v but Problem() %q", tc.name, got.Signed(), got.Problem())
		}
	}
	d := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{"mail.example.com. 300 IN A 192.0.2.1"}})
	_, err := check.New(check.Options{Resolver: d.Addr}).ZoneDNSSEC(context.Background(), "mail.example.com")
	if err == nil || !strings.Contains(err.Error(), "no SOA record") {
		t.Errorf("without an SOA: %v, want an error saying so", err)
	}
}

func TestServedChain(t *testing.T) {
	self := checktest.SelfSigned(t, []string{"mail.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	opts := daneWorld(t, self)
	chain, err := check.New(opts).ServedChain(context.Background(), "mail.example.com", 25)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dane.KeyOf(chain[0]).Digest(), dane.KeyOf(self.Leaf).Digest(); got != want {
		t.Errorf("served key %s, want %s", got, want)
	}
	_, err = check.New(opts).ServedChain(context.Background(), "mail.example.com", 2525)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("cannot connect to %s", "mail.example.com:2525")) {
		t.Errorf("unrouted port: %v", err)
	}
}

func TestServedChainImplicitTLS(t *testing.T) {
	self := checktest.SelfSigned(t, []string{"mail.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	https := checktest.StartHTTPS(t, &tls.Config{Certificates: []tls.Certificate{*self}}, nil)
	opts := check.Options{Dialer: checktest.Dialer{Routes: map[string]string{"mail.example.com:465": https}}, Timeout: 10 * time.Second}
	chain, err := check.New(opts).ServedChain(context.Background(), "mail.example.com", 465)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dane.KeyOf(chain[0]).Digest(), dane.KeyOf(self.Leaf).Digest(); got != want {
		t.Errorf("served key %s, want %s", got, want)
	}
}
