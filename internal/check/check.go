// Package check verifies a mail domain the way a sending MTA sees it: MX
// records, the `_mta-sts` TXT record, the HTTPS policy file, MX coverage,
// STARTTLS on each MX, the TLSA records of each MX (DANE, RFC 7672) and the
// `_smtp._tls` TLSRPT record (RFC 8461, RFC 8460).
package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// Verdict is the outcome of one check.
type Verdict string

// Verdicts, from best to worst.
const (
	Pass Verdict = "pass"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

func (v Verdict) rank() int {
	switch v {
	case Pass:
		return 0
	case Warn:
		return 1
	}
	return 2
}

// Result is one check's verdict and a one-line reason that says what to fix.
type Result struct {
	Check   string  `json:"check"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
}

// Report is every check of one domain, in a fixed order.
type Report struct {
	Domain  string   `json:"domain"`
	Results []Result `json:"checks"`
	// PolicyCertExpiry is when the policy host's certificate expires;
	// zero (and left out of JSON) when the policy could not be fetched.
	PolicyCertExpiry time.Time `json:"policy_cert_expiry,omitzero"`
}

// Worst is the worst verdict in the report; an empty report passes.
func (r Report) Worst() Verdict {
	worst := Pass
	for _, res := range r.Results {
		if res.Verdict.rank() > worst.rank() {
			worst = res.Verdict
		}
	}
	return worst
}

// Dialer is the single seam through which every connection goes, so tests never touch global state.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Options configure a Checker; zero values mean the defaults documented per field.
type Options struct {
	// Resolver is the "host:port" of the DNS server asked for every name
	// the check looks up: the records, the policy host and the MX hosts it
	// connects to; "" = the servers of /etc/resolv.conf.
	Resolver string
	// Dialer, when set, makes the HTTPS and SMTP connections and is given
	// host names, which it resolves itself (tests map names to loopback);
	// nil = resolve through Resolver and connect with a net.Dialer.
	Dialer    Dialer
	RootCAs   *x509.CertPool   // nil = system pool
	Now       func() time.Time // clock for certificate validity and expiry warnings; nil = time.Now
	SMTP      bool             // also connect to each MX with STARTTLS
	SMTPPort  int              // default 25
	HTTPSPort int              // port of the policy host; default 443 (tests use a loopback port)
	Timeout   time.Duration    // per policy fetch and per SMTP probe; default 60 s
	Expected  *Expected        // the policy and id the config publishes; nil skips the consistency check
	DANEHosts []string         // MX hosts the config publishes TLSA records for (dane:): none there warns
}

// Expected is what the config says should be published for a domain.
type Expected struct {
	Policy mtasts.Policy
	ID     string
}

// Checker runs the checks; it is safe for concurrent use.
type Checker struct {
	opts Options
	dns  *resolver
}

// defaultTimeout is the fetch limit RFC 8461 §3.3 suggests senders apply.
const defaultTimeout = 60 * time.Second

// New returns a Checker with opts' zero values replaced by defaults.
func New(opts Options) *Checker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SMTPPort == 0 {
		opts.SMTPPort = 25
	}
	if opts.HTTPSPort == 0 {
		opts.HTTPSPort = 443
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	return &Checker{opts: opts, dns: &resolver{server: opts.Resolver}}
}

// run carries what earlier checks found to the checks that depend on it.
type run struct {
	domain  string
	results []Result

	mx       []string // MX host names; nil when the MX check did not pass or warn with hosts
	stsID    string
	stsOK    bool
	policy   mtasts.Policy
	policyOK bool
	// certExpiry is the policy host certificate's NotAfter, once fetched.
	certExpiry time.Time
	// policyFix is what to do when policyOK is false: "run apply" only when
	// apply can help (the mta-sts name is missing), else fix the policy host.
	policyFix string
}

func (r *run) add(check string, v Verdict, format string, args ...any) {
	r.results = append(r.results, Result{Check: check, Verdict: v, Reason: fmt.Sprintf(format, args...)})
}

// Check runs every check for domain (Unicode or A-label) and never stops
// early: each check reports on its own, and checks that need an earlier
// result which is missing are left out (mx-coverage) or fail saying why (consistency).
func (c *Checker) Check(ctx context.Context, domain string) Report {
	d, err := dnsname.Normalize(domain)
	if err != nil {
		return Report{Domain: domain, Results: []Result{{
			Check: "domain", Verdict: Fail,
			Reason: fmt.Sprintf("%q is not a valid domain name: %v", domain, err),
		}}}
	}
	r := &run{domain: d}
	c.checkMX(ctx, r)
	c.checkSTSRecord(ctx, r)
	c.checkPolicy(ctx, r)
	c.checkCoverage(r)
	if c.opts.SMTP {
		mode := mtasts.Mode("")
		if r.policyOK {
			mode = r.policy.Mode
		}
		for _, mx := range r.mx {
			r.results = append(r.results, c.checkSMTP(ctx, mx, mode))
		}
		for _, mx := range r.mx {
			r.results = append(r.results, c.checkDANE(ctx, mx))
		}
	}
	c.checkTLSRPT(ctx, r)
	c.checkConsistency(r)
	return Report{Domain: d, Results: r.results, PolicyCertExpiry: r.certExpiry}
}

func (c *Checker) checkMX(ctx context.Context, r *run) {
	const name = "mx"
	a, err := c.dns.lookup(ctx, r.domain, dns.TypeMX)
	switch {
	case isNXDomain(err):
		r.add(name, Fail, "%s does not exist in DNS (NXDOMAIN): check the domain name and its delegation", r.domain)
		return
	case err != nil:
		r.add(name, Fail, "%v", err)
		return
	}
	type mxRec struct {
		pref uint16
		host string
	}
	var recs []mxRec
	null := false
	for _, rr := range a.rrs {
		m, ok := rr.(*dns.MX)
		if !ok {
			continue
		}
		host := canonical(m.Mx)
		if host == "" {
			null = true
			continue
		}
		recs = append(recs, mxRec{m.Preference, host})
	}
	slices.SortFunc(recs, func(x, y mxRec) int {
		if x.pref != y.pref {
			return int(x.pref) - int(y.pref)
		}
		return strings.Compare(x.host, y.host)
	})
	var listed []string
	for _, m := range recs {
		if !slices.Contains(r.mx, m.host) {
			r.mx = append(r.mx, m.host)
		}
		listed = append(listed, fmt.Sprintf("%s (%d)", m.host, m.pref))
	}
	switch {
	case null && len(recs) == 0:
		r.add(name, Warn, "%s has a null MX (RFC 7505): it accepts no mail, so MTA-STS protects nothing here", r.domain)
	case null:
		r.add(name, Warn, "%s mixes a null MX with %s: RFC 7505 §3 allows the null MX only alone; remove one", r.domain, strings.Join(listed, ", "))
	case len(recs) == 0:
		r.add(name, Fail, "%s has no MX records: MTA-STS protects delivery to MX hosts; publish MX records", r.domain)
	default:
		r.add(name, Pass, "%s", strings.Join(listed, ", "))
	}
}

// via describes a followed CNAME chain for a reason, or "" if there was none.
func via(owner string, chain []string) string {
	if len(chain) == 0 {
		return ""
	}
	return " (via CNAME " + owner + " → " + strings.Join(chain, " → ") + ")"
}

func (c *Checker) checkSTSRecord(ctx context.Context, r *run) {
	owner := "_mta-sts." + r.domain
	a, err := c.dns.lookup(ctx, owner, dns.TypeTXT)
	var res Result
	res, r.stsID, r.stsOK = judgeSTS(owner, a.chain, txtValues(a.rrs), err)
	r.results = append(r.results, res)
}

// judgeSTS decides the sts-record check from the TXT values found at owner
// (after following chain) or the lookup error, and returns the id senders use.
func judgeSTS(owner string, chain, txts []string, lookupErr error) (res Result, id string, ok bool) {
	res.Check = "sts-record"
	verdict := func(v Verdict, format string, args ...any) Result {
		res.Verdict, res.Reason = v, fmt.Sprintf(format, args...)
		return res
	}
	via := via(owner, chain)
	switch {
	case isNXDomain(lookupErr):
		return verdict(Fail, "no MTA-STS record: %s does not exist%s; publish TXT \"v=STSv1; id=…\" (run apply)", owner, via), "", false
	case lookupErr != nil:
		return verdict(Fail, "%v", lookupErr), "", false
	}
	sel := selectRecords(txts, "v=STSv1")
	switch {
	case len(sel.kept) == 0 && len(sel.ignored) > 0:
		return verdict(Fail, "no MTA-STS record at %s%s: senders ignore %s because it does not start with \"v=STSv1;\"; fix it",
			owner, via, quoteAll(sel.ignored)), "", false
	case len(sel.kept) == 0:
		return verdict(Fail, "no MTA-STS record: %s has no TXT record%s; publish TXT \"v=STSv1; id=…\" (run apply)", owner, via), "", false
	case len(sel.kept) > 1:
		return verdict(Fail, "%d v=STSv1 records at %s%s (%s): senders see no policy; keep exactly one",
			len(sel.kept), owner, via, quoteAll(sel.kept)), "", false
	}
	rec, warnings, err := mtasts.ParseSTSRecord(sel.kept[0])
	if err != nil {
		return verdict(Fail, "%s%s: %v: senders ignore the record; fix it", owner, via, err), "", false
	}
	if len(warnings) > 0 {
		return verdict(Warn, "%s%s: id=%s, but %s", owner, via, rec.ID, strings.Join(warnings, "; ")), rec.ID, true
	}
	return verdict(Pass, "%s%s: id=%s", owner, via, rec.ID), rec.ID, true
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// Policy max_age thresholds below which we warn (RFC 8461 §3.2 and §10
// recommend weeks; short ages make a policy-host outage drop protection).
const (
	minMaxAge        = 86400  // one day
	minEnforceMaxAge = 604800 // one week
)

func (c *Checker) checkPolicy(ctx context.Context, r *run) {
	f, err := c.fetch(ctx, r.domain)
	if err != nil {
		r.add("policy-host", Fail, "%v", err)
		r.policyFix = "fix the policy host first (see policy-host; apply cannot fix it)"
		if le := (*HostLookupError)(nil); errors.As(err, &le) && isNXDomain(le.Err) {
			r.policyFix = "run apply"
		}
		return
	}
	r.certExpiry = f.CertExpiry
	if len(f.Warnings) > 0 {
		r.add("policy-host", Warn, "%s", strings.Join(f.Warnings, "; "))
	} else {
		r.add("policy-host", Pass, "%s served over HTTPS, certificate valid until %s",
			policyURL(r.domain), f.CertExpiry.UTC().Format("2006-01-02"))
	}

	const name = "policy"
	p, warnings, err := parsePolicy(f.Body)
	if err != nil {
		r.add(name, Fail, "%s: %v: senders ignore the policy; fix the policy file", policyURL(r.domain), err)
		r.policyFix = "fix the served policy file first (see policy; apply cannot fix it)"
		return
	}
	r.policy, r.policyOK = p, true
	switch {
	case p.MaxAge < minMaxAge && p.Mode != mtasts.ModeNone && !mentions(warnings, "max_age"):
		warnings = append(warnings, fmt.Sprintf("max_age %d is under a day: senders refetch constantly and forget the policy quickly; use at least %d", p.MaxAge, minMaxAge))
	case p.MaxAge >= minMaxAge && p.MaxAge < minEnforceMaxAge && p.Mode == mtasts.ModeEnforce:
		warnings = append(warnings, fmt.Sprintf("max_age %d is under a week for mode enforce: a short outage of the policy host lets the policy lapse; use at least %d", p.MaxAge, minEnforceMaxAge))
	}
	mx := strings.Join(p.MX, " ")
	if mx == "" {
		mx = "(none)"
	}
	summary := fmt.Sprintf("mode %s, max_age %d, mx %s", p.Mode, p.MaxAge, mx)
	if len(warnings) > 0 {
		r.add(name, Warn, "%s: %s", summary, strings.Join(warnings, "; "))
		return
	}
	r.add(name, Pass, "%s", summary)
}

// mentions reports whether some warning already talks about topic, so the
// parser's own warnings are not repeated in other words.
func mentions(warnings []string, topic string) bool {
	for _, w := range warnings {
		if strings.Contains(w, topic) {
			return true
		}
	}
	return false
}

func (c *Checker) checkCoverage(r *run) {
	const name = "mx-coverage"
	if !r.policyOK || len(r.mx) == 0 {
		return
	}
	var uncovered []string
	for _, mx := range r.mx {
		if !r.policy.Covers(mx) {
			uncovered = append(uncovered, mx)
		}
	}
	if len(uncovered) == 0 {
		r.add(name, Pass, "every MX host (%s) matches an mx pattern of the policy", strings.Join(r.mx, ", "))
		return
	}
	missing := strings.Join(uncovered, ", ")
	switch r.policy.Mode {
	case mtasts.ModeEnforce:
		r.add(name, Fail, "MX %s not covered by the policy's mx patterns: senders refuse to deliver there under mode enforce; add it to the policy", missing)
	case mtasts.ModeTesting:
		r.add(name, Warn, "MX %s not covered by the policy's mx patterns: senders deliver (mode testing) but report failures; add it before switching to enforce", missing)
	default:
		r.add(name, Pass, "MX %s not covered by the policy's mx patterns, which has no effect under mode %s", missing, r.policy.Mode)
	}
}

func (c *Checker) checkTLSRPT(ctx context.Context, r *run) {
	owner := "_smtp._tls." + r.domain
	a, err := c.dns.lookup(ctx, owner, dns.TypeTXT)
	r.results = append(r.results, judgeTLSRPT(owner, a.chain, txtValues(a.rrs), err))
}

// judgeTLSRPT decides the tlsrpt-record check from the TXT values found at
// owner (after following chain) or the lookup error. A missing record only
// warns: TLSRPT is optional (RFC 8460) and MTA-STS works without it.
func judgeTLSRPT(owner string, chain, txts []string, lookupErr error) Result {
	res := Result{Check: "tlsrpt-record"}
	verdict := func(v Verdict, format string, args ...any) Result {
		res.Verdict, res.Reason = v, fmt.Sprintf(format, args...)
		return res
	}
	via := via(owner, chain)
	switch {
	case isNXDomain(lookupErr):
		return verdict(Warn, "no TLSRPT record: %s does not exist%s, so no one reports TLS failures to you; publish TXT \"v=TLSRPTv1; rua=mailto:…\" (run apply)", owner, via)
	case lookupErr != nil:
		return verdict(Fail, "%v", lookupErr)
	}
	sel := selectRecords(txts, "v=TLSRPTv1")
	switch {
	case len(sel.kept) == 0 && len(sel.ignored) > 0:
		return verdict(Fail, "no TLSRPT record at %s%s: senders ignore %s because it does not start with \"v=TLSRPTv1;\"; fix it",
			owner, via, quoteAll(sel.ignored))
	case len(sel.kept) == 0:
		return verdict(Warn, "no TLSRPT record: %s has no TXT record%s, so no one reports TLS failures to you; publish TXT \"v=TLSRPTv1; rua=mailto:…\" (run apply)", owner, via)
	case len(sel.kept) > 1:
		return verdict(Fail, "%d v=TLSRPTv1 records at %s%s (%s): senders see no TLSRPT policy; keep exactly one",
			len(sel.kept), owner, via, quoteAll(sel.kept))
	}
	// ParseTLSRPTRecord requires a rua and runs ValidateRUA on every URI.
	rec, warnings, err := mtasts.ParseTLSRPTRecord(sel.kept[0])
	if err != nil {
		return verdict(Fail, "%s%s: %v: senders ignore the record; fix it (rua URIs must be mailto: or https: with ',' '!' ';' percent-encoded)", owner, via, err)
	}
	if len(warnings) > 0 {
		return verdict(Warn, "%s%s: rua %s, but %s", owner, via, strings.Join(rec.RUA, ","), strings.Join(warnings, "; "))
	}
	return verdict(Pass, "%s%s: rua %s", owner, via, strings.Join(rec.RUA, ","))
}

func (c *Checker) checkConsistency(r *run) {
	const name = "consistency"
	exp := c.opts.Expected
	if exp == nil {
		return
	}
	var missing, fixes []string
	if !r.policyOK {
		missing = append(missing, "no usable policy served")
		fixes = append(fixes, r.policyFix)
	}
	if !r.stsOK {
		missing = append(missing, "no usable _mta-sts TXT record")
		if !slices.Contains(fixes, "run apply") {
			fixes = append(fixes, "run apply")
		}
	}
	if len(missing) > 0 {
		r.add(name, Fail, "cannot compare with the config (id %s): %s; %s", exp.ID, strings.Join(missing, ", "), strings.Join(fixes, ", then "))
		return
	}
	samePolicy := r.policy.Equal(exp.Policy)
	sameID := r.stsID == exp.ID
	switch {
	case samePolicy && sameID:
		r.add(name, Pass, "TXT id %s and the served policy match the config", exp.ID)
	case samePolicy:
		r.add(name, Fail, "id not bumped: the served policy matches the config but TXT id is %s, not the config's %s; run apply", r.stsID, exp.ID)
	case sameID:
		r.add(name, Fail, "TXT already has the config's id %s but the server serves a different policy (%s): senders cache the wrong policy under this id; publish the policy file, then run apply",
			exp.ID, policyDiff(r.policy, exp.Policy))
	default:
		r.add(name, Fail, "server serves a different policy than the config (%s) and TXT id is %s, not %s: run apply / check the policy file",
			policyDiff(r.policy, exp.Policy), r.stsID, exp.ID)
	}
}

// policyDiff names the fields in which served differs from want.
func policyDiff(served, want mtasts.Policy) string {
	s, w := served.Normalize(), want.Normalize()
	var d []string
	if s.Mode != w.Mode {
		d = append(d, fmt.Sprintf("mode %s, config %s", s.Mode, w.Mode))
	}
	if s.MaxAge != w.MaxAge {
		d = append(d, fmt.Sprintf("max_age %d, config %d", s.MaxAge, w.MaxAge))
	}
	if !slices.Equal(s.MX, w.MX) {
		d = append(d, fmt.Sprintf("mx %s, config %s", strings.Join(s.MX, " "), strings.Join(w.MX, " ")))
	}
	return "served " + strings.Join(d, "; ")
}
