package engine

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

const (
	mxHost   = "mail.example.net"
	tlsaName = "_25._tcp.mail.example.net."
	// foreignTA is someone's DANE-TA record at our name: never touched.
	foreignTA = "2 1 1 " + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// daneWorld is a mail host whose TLSA records live in example.net, a zone
// holding no mail domain, on a zone file; a loopback SMTP server serving
// whichever certificate serve points at; and a DNS server saying whether
// example.net is signed.
type daneWorld struct {
	t        *testing.T
	dir      string
	certs    map[string]*tls.Certificate // "a", "b": two keys for the host
	files    map[string]string           // their PEM files
	serve    atomic.Pointer[tls.Certificate]
	smtpAddr string
	dnsAddr  string
}

func newDANEWorld(t *testing.T, signed bool) *daneWorld {
	t.Helper()
	w := &daneWorld{t: t, dir: t.TempDir(), certs: map[string]*tls.Certificate{}, files: map[string]string{}}
	ca := checktest.NewCA(t)
	for _, k := range []string{"a", "b"} {
		c := ca.Issue(t, []string{mxHost}, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
		w.certs[k] = c
		w.files[k] = filepath.Join(w.dir, k+".pem")
		if err := os.WriteFile(w.files[k], pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.serve.Store(w.certs["a"])
	w.smtpAddr = checktest.StartSMTP(t, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return w.serve.Load(), nil }})
	records := []string{"example.net. 300 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300"}
	if signed {
		records = append(records,
			"example.net. 300 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
			"example.net. 300 IN DS 2371 13 2 1f987cc6583e92df0890718c42e0d4f1e4a0f9b3c4fd2c4a7c4d2e1d1b3c6a51")
	}
	w.dnsAddr = checktest.StartDNS(t, checktest.DNSConfig{Records: records}).Addr
	zones := map[string][]string{
		"example.org": {"example.org. IN MX 10 mail.example.net."},
		"example.net": {
			"mail.example.net. IN A 192.0.2.25",
			tlsaName + " IN TLSA " + foreignTA,
			tlsaName + ` IN TXT "a note someone keeps here"`,
		},
	}
	for z, recs := range zones {
		text := fmt.Sprintf("$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300\n@ IN NS ns1.example.net.\n%s\n", z, strings.Join(recs, "\n"))
		if err := os.WriteFile(filepath.Join(w.dir, z+".zone"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// engine loads a config whose dane: section is daneYAML and builds the engine.
func (w *daneWorld) engine(daneYAML string, gate bool) *Engine {
	w.t.Helper()
	text := fmt.Sprintf(`policy:
  mode: testing
  max_age: 604800
  mx: [mail.example.net]
policy_host: mail.example.net
ttl: 3600
publish_gate: %v
domains: [example.org]
providers:
  files:
    type: zonefile
    directory: %s
zones:
  example.org: files
  example.net: files
dane:
%s`, gate, w.dir, daneYAML)
	cfg, err := config.Parse([]byte(text), filepath.Join(w.dir, "mtasts-sync.yaml"), ConfigOptions())
	if err != nil {
		w.t.Fatalf("config:\n%s\n%v", text, err)
	}
	e, err := New(context.Background(), cfg, Options{
		Resolver: w.dnsAddr,
		Dialer:   checktest.Dialer{Routes: map[string]string{mxHost + ":25": w.smtpAddr}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// atName returns the TLSA and TXT records at _25._tcp.mail.example.net in the zone file.
func (w *daneWorld) atName() []string {
	w.t.Helper()
	f, err := os.Open(filepath.Join(w.dir, "example.net.zone"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	zp := dns.NewZoneParser(f, "example.net.", "")
	var out []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if rr.Header().Name == tlsaName {
			v := strings.TrimPrefix(rr.String(), rr.Header().String())
			if t, isTLSA := rr.(*dns.TLSA); isTLSA {
				v = fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, strings.ToLower(t.Certificate))
			}
			out = append(out, dns.TypeToString[rr.Header().Rrtype]+" "+v)
		}
	}
	if err := zp.Err(); err != nil {
		w.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func (w *daneWorld) ee(k string) string { return dane.KeyOf(w.certs[k].Leaf).Record().String() }

func (w *daneWorld) digest(k string) string { return dane.KeyOf(w.certs[k].Leaf).Digest() }

func (w *daneWorld) marker(keys ...string) string {
	var h []string
	for _, k := range keys {
		h = append(h, w.digest(k))
	}
	slices.Sort(h)
	return `TXT "` + reconcile.DANEMarker + " tlsa=" + strings.Join(h, " ") + `"`
}

// daneChanges are the plan's changes in example.net, as "action type".
func daneChanges(run *Run) (changes []string, zerr error) {
	for _, zp := range run.Plan.Zones {
		for _, d := range zp.Domains {
			if d == mxHost && zp.Err != nil {
				return nil, zp.Err
			}
		}
		if zp.Zone != "example.net" {
			continue
		}
		for _, c := range zp.Changes {
			changes = append(changes, string(c.Action)+" "+c.Type)
		}
	}
	return changes, nil
}

func (w *daneWorld) planApply(e *Engine) (*Run, Report) {
	w.t.Helper()
	run, err := e.Plan(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return run, e.Apply(context.Background(), run)
}

// TestDANELifecycle walks one host through a key rollover with the gate on:
// create, rerun, next key beside the current one, a swap the config has
// not caught up with (refused, naming both digests), removal after the
// swap, and the gate refusing at apply a set the host no longer serves.
func TestDANELifecycle(t *testing.T) {
	w := newDANEWorld(t, true)
	kept := []string{`TLSA ` + foreignTA, `TXT "a note someone keeps here"`}
	with := func(extra ...string) []string {
		out := append(append([]string(nil), kept...), extra...)
		slices.Sort(out)
		return out
	}

	// Create: the served key, beside the foreign records, with the marker.
	run, rep := w.planApply(w.engine("  cert_file: "+w.files["a"]+"\n", true))
	if got, err := daneChanges(run); err != nil || !slices.Equal(got, []string{"create TLSA", "create TXT"}) {
		t.Fatalf("create: changes %v, %v", got, err)
	}
	for _, warn := range run.Plan.Warnings {
		if strings.Contains(warn, "DNSSEC") {
			t.Errorf("signed zone warned about: %s", warn)
		}
	}
	if rep.Err != nil && strings.Contains(rep.Err.Error(), "example.net") {
		t.Fatalf("apply: %v", rep.Err)
	}
	if got, want := w.atName(), with("TLSA "+w.ee("a"), w.marker("a")); !slices.Equal(got, want) {
		t.Fatalf("after create (-got +want):\n%q\n%q", got, want)
	}

	// Rerun, this time without cert_file: the served key is the current one.
	run, _ = w.planApply(w.engine("  hosts: [mail.example.net]\n", true))
	if got, err := daneChanges(run); err != nil || len(got) != 0 {
		t.Fatalf("rerun: changes %v, %v; want none", got, err)
	}

	// The next key goes beside the current one; the plan says when to swap.
	run, _ = w.planApply(w.engine("  cert_file: "+w.files["a"]+"\n  next_cert_file: "+w.files["b"]+"\n", true))
	if got, _ := daneChanges(run); !slices.Equal(got, []string{"update TLSA", "update TXT"}) {
		t.Fatalf("next: changes %v", got)
	}
	if !slices.ContainsFunc(run.Plan.Warnings, func(s string) bool {
		return strings.Contains(s, "rollover on mail.example.net") && strings.Contains(s, "goes into DNS with this apply") && strings.Contains(s, "TTL (1h0m0s)")
	}) {
		t.Errorf("no rollover advice in %q", run.Plan.Warnings)
	}
	run, _ = w.planApply(w.engine("  cert_file: "+w.files["a"]+"\n  next_cert_file: "+w.files["b"]+"\n", true))
	if !slices.ContainsFunc(run.Plan.Warnings, func(s string) bool { return strings.Contains(s, "is in DNS beside the current one") }) {
		t.Errorf("rerun with the next key in DNS: advice %q", run.Plan.Warnings)
	}
	both := with("TLSA "+w.ee("a"), "TLSA "+w.ee("b"), w.marker("a", "b"))
	if got := w.atName(); !slices.Equal(got, both) {
		t.Fatalf("after next (-got +want):\n%q\n%q", got, both)
	}

	// The server now serves b, but cert_file still names a: an error for
	// the host naming both digests; nothing changes.
	w.serve.Store(w.certs["b"])
	run, rep = w.planApply(w.engine("  cert_file: "+w.files["a"]+"\n  next_cert_file: "+w.files["b"]+"\n", true))
	_, err := daneChanges(run)
	if err == nil || !strings.Contains(err.Error(), w.digest("a")) || !strings.Contains(err.Error(), w.digest("b")) || !strings.Contains(err.Error(), "already serves next_cert_file's key") {
		t.Fatalf("stale cert_file: %v, want an error naming both digests", err)
	}
	if rep.Err == nil {
		t.Error("apply with a host error reported no error")
	}
	if got := w.atName(); !slices.Equal(got, both) {
		t.Fatalf("after the refused run (-got +want):\n%q\n%q", got, both)
	}

	// cert_file follows the swap, next_cert_file goes: the old key, listed
	// in the marker, is removed; the foreign records stay.
	run, _ = w.planApply(w.engine("  cert_file: "+w.files["b"]+"\n", true))
	if got, _ := daneChanges(run); !slices.Equal(got, []string{"update TLSA", "update TXT"}) {
		t.Fatalf("after swap: changes %v", got)
	}
	if got, want := w.atName(), with("TLSA "+w.ee("b"), w.marker("b")); !slices.Equal(got, want) {
		t.Fatalf("after removal (-got +want):\n%q\n%q", got, want)
	}

	// The gate at apply: planned while b is served, applied after the
	// server went back to a. Publishing {b} alone would strand a.
	w.serve.Store(w.certs["a"])
	e := w.engine("  cert_file: "+w.files["a"]+"\n", true)
	run, err = e.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := daneChanges(run); !slices.Equal(got, []string{"update TLSA", "update TXT"}) {
		t.Fatalf("gate setup: changes %v", got)
	}
	w.serve.Store(w.certs["b"])
	e.Apply(context.Background(), run)
	var held []string
	for _, zp := range run.Plan.Zones {
		for _, c := range zp.Changes {
			if c.Type == "TLSA" && c.Action == reconcile.Withheld {
				held = append(held, c.Reason)
			}
		}
	}
	if len(held) != 1 || !strings.Contains(held[0], "3 1 1 "+w.digest("b")) {
		t.Errorf("withheld TLSA changes: %q, want one naming the served key", held)
	}
	if got, want := w.atName(), with("TLSA "+w.ee("b"), w.marker("b")); !slices.Equal(got, want) {
		t.Fatalf("the gate let a change through (-got +want):\n%q\n%q", got, want)
	}
}

func TestDANEUnsignedZoneWarns(t *testing.T) {
	w := newDANEWorld(t, false)
	run, err := w.engine("  cert_file: "+w.files["a"]+"\n", true).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(run.Plan.Warnings, func(s string) bool {
		return strings.Contains(s, "zone example.net is not DNSSEC-signed")
	}) {
		t.Errorf("warnings %q lack the unsigned zone", run.Plan.Warnings)
	}
}

func TestDANEWithoutGateUsesCertFileOnly(t *testing.T) {
	w := newDANEWorld(t, true)
	w.serve.Store(w.certs["b"]) // would disagree, but the gate is off
	run, _ := w.planApply(w.engine("  cert_file: "+w.files["a"]+"\n", false))
	if got, err := daneChanges(run); err != nil || !slices.Equal(got, []string{"create TLSA", "create TXT"}) {
		t.Fatalf("changes %v, %v", got, err)
	}
	if got := w.atName(); !slices.Contains(got, "TLSA "+w.ee("a")) {
		t.Errorf("zone %q lacks cert_file's key", got)
	}
}

// TestDANEGateAtApplySaved: a saved plan publishing {b} is held back at
// apply when the host went back to serving a meanwhile.
func TestDANEGateAtApplySaved(t *testing.T) {
	w := newDANEWorld(t, true)
	w.planApply(w.engine("  cert_file: "+w.files["a"]+"\n", true))
	w.serve.Store(w.certs["b"])
	run, err := w.engine("  cert_file: "+w.files["b"]+"\n", true).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := daneChanges(run); !slices.Equal(got, []string{"update TLSA", "update TXT"}) {
		t.Fatalf("plan: changes %v", got)
	}
	before := w.atName()
	w.serve.Store(w.certs["a"])
	rep, err := w.engine("  cert_file: "+w.files["b"]+"\n", true).ApplySaved(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, c := range rep.HeldAtApply {
		if c.Type == "TLSA" {
			held = append(held, c.Reason)
		}
	}
	if len(held) != 1 || !strings.Contains(held[0], "3 1 1 "+w.digest("a")) {
		t.Errorf("held at apply: %q, want the TLSA change naming the served key", held)
	}
	if got := w.atName(); !slices.Equal(got, before) {
		t.Errorf("the gate let a saved change through:\n%q\n%q", got, before)
	}
}

// TestDANEHostDefaultsToRunPolicyHost: with mailcow and no policy_host the
// config names no host; the run's policy host (mailcow's hostname) is used.
func TestDANEHostDefaultsToRunPolicyHost(t *testing.T) {
	w := newDANEWorld(t, true)
	e := w.engine("  cert_file: "+w.files["a"]+"\n", true)
	e.cfg.DANE.Hosts = nil
	dr := e.dane(context.Background(), mxHost)
	if len(dr.hosts) != 1 || dr.hosts[0].host != mxHost || dr.hosts[0].err != nil || dr.hosts[0].zone != "example.net" {
		t.Fatalf("hosts %+v, want %s in example.net", dr.hosts, mxHost)
	}
	if got := dr.hosts[0].want[25]; !slices.Equal(got, []string{w.ee("a")}) {
		t.Errorf("want %q", got)
	}
}

func TestDANERolloverAdvice(t *testing.T) {
	next := dane.KeyOf(checktest.SelfSigned(t, []string{mxHost}, time.Now(), time.Now().Add(time.Hour)).Leaf)
	dr := daneRun{next: &next, hosts: []daneHost{{host: mxHost, want: map[int][]string{25: {next.Record().String()}}}}}
	for _, tc := range []struct {
		name   string
		change reconcile.Change
		want   string
	}{
		{"goes out", reconcile.Change{Kind: "dane-25", Name: tlsaName, Type: "TLSA", Action: reconcile.Update, New: []string{next.Record().String()}}, "goes into DNS with this apply"},
		{"withheld", reconcile.Change{Kind: "dane-25", Name: tlsaName, Type: "TLSA", Action: reconcile.Withheld, New: []string{next.Record().String()}}, "do not swap the key"},
		{"CNAME in the way", reconcile.Change{Kind: "dane-25", Name: tlsaName, Type: "CNAME", Action: reconcile.Conflict, Old: []string{"elsewhere."}}, "do not swap the key"},
		{"in DNS", reconcile.Change{Kind: "sts", Name: "_mta-sts.example.org.", Type: "TXT", Action: reconcile.Update}, "is in DNS beside the current one"},
	} {
		got := dr.rollover(reconcile.Plan{Zones: []reconcile.ZonePlan{{Changes: []reconcile.Change{tc.change}}}}, time.Hour)
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: advice %q, want %q", tc.name, got, tc.want)
		}
	}
}
