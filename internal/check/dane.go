package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
)

// DNSSEC is what DNS says about the signing of the zone holding a name.
type DNSSEC struct {
	// Zone is the zone apex (no trailing dot): the owner of the SOA record
	// the name's answers carry.
	Zone string
	// DNSKEY: the apex holds DNSKEY records.
	DNSKEY bool
	// DS: the parent holds DS records for the zone; meaningful only when
	// DSKnown (the DS question got an answer).
	DS, DSKnown bool
}

// Signed reports whether senders can validate the zone: keys at the apex
// and, when the parent could be asked, a DS linking them to it.
func (d DNSSEC) Signed() bool { return d.DNSKEY && (d.DS || !d.DSKnown) }

// Problem says why senders would treat the zone as unsigned, or "" when
// it is signed.
func (d DNSSEC) Problem() string {
	switch {
	case !d.DNSKEY:
		return fmt.Sprintf("zone %s is not DNSSEC-signed (no DNSKEY at its apex): senders ignore its TLSA records; sign the zone at your DNS provider and publish the DS at the registrar", d.Zone)
	case d.DSKnown && !d.DS:
		return fmt.Sprintf("zone %s has DNSKEY records but no DS at its parent: validators treat it as unsigned and ignore its TLSA records; publish the DS record at the registrar", d.Zone)
	}
	return ""
}

// Describe is a short note for a passing verdict.
func (d DNSSEC) Describe() string {
	if d.DSKnown {
		return fmt.Sprintf("zone %s signed (DNSKEY, DS at the parent)", d.Zone)
	}
	return fmt.Sprintf("zone %s signed (DNSKEY; the DS at the parent could not be asked)", d.Zone)
}

// ZoneDNSSEC finds the zone holding name and asks whether it is signed:
// DNSKEY at its apex, and DS for it at the parent when the resolver can
// answer that. An error means the zone or its keys could not be asked.
func (c *Checker) ZoneDNSSEC(ctx context.Context, name string) (DNSSEC, error) {
	apex, err := c.zoneApex(ctx, name)
	if err != nil {
		return DNSSEC{}, err
	}
	d := DNSSEC{Zone: apex}
	msg, err := c.dns.exchange(ctx, apex, dns.TypeDNSKEY)
	if err != nil {
		return d, fmt.Errorf("DNS DNSKEY lookup of %s: %w", apex, err)
	}
	if msg.Rcode != dns.RcodeSuccess {
		return d, &rcodeError{name: apex, qtype: dns.TypeDNSKEY, rcode: msg.Rcode}
	}
	d.DNSKEY = holds(msg.Answer, apex, dns.TypeDNSKEY)
	// The DS lives in the parent: a recursive resolver asks it; a server
	// that cannot (refuses, fails) leaves the question open.
	if msg, err := c.dns.exchange(ctx, apex, dns.TypeDS); err == nil && msg.Rcode == dns.RcodeSuccess {
		d.DSKnown = true
		d.DS = holds(msg.Answer, apex, dns.TypeDS)
	}
	return d, nil
}

func holds(rrs []dns.RR, owner string, qtype uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype && canonical(rr.Header().Name) == owner {
			return true
		}
	}
	return false
}

// zoneApex is the owner of the SOA record that comes with an answer for
// name: in the answer when name is the apex, in the authority section
// otherwise (also for NXDOMAIN and empty answers).
func (c *Checker) zoneApex(ctx context.Context, name string) (string, error) {
	name = canonical(name)
	msg, err := c.dns.exchange(ctx, name, dns.TypeSOA)
	if err != nil {
		return "", fmt.Errorf("DNS SOA lookup of %s: %w", name, err)
	}
	if msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError {
		return "", &rcodeError{name: name, qtype: dns.TypeSOA, rcode: msg.Rcode}
	}
	for _, rr := range append(append([]dns.RR(nil), msg.Answer...), msg.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok {
			return canonical(soa.Hdr.Name), nil
		}
	}
	return "", fmt.Errorf("DNS SOA lookup of %s: no SOA record in the answer, so its zone is unknown", name)
}

// daneSMTPPort is where senders look for an MX host's TLSA records
// (RFC 7672 §2.2): always port 25, whichever port the probe dials.
const daneSMTPPort = 25

// checkDANE judges the TLSA records of one MX host as a DANE sender does
// (RFC 7672): without records DANE is not in use; with records, at least
// one usable one must match the chain the host serves, and the zone must
// be signed or senders ignore them all.
func (c *Checker) checkDANE(ctx context.Context, mx string) Result {
	owner := strings.TrimSuffix(dane.Name(mx, daneSMTPPort), ".")
	res := Result{Check: "dane " + mx}
	verdict := func(v Verdict, format string, args ...any) Result {
		res.Verdict, res.Reason = v, fmt.Sprintf(format, args...)
		return res
	}
	a, err := c.dns.lookup(ctx, owner, dns.TypeTLSA)
	if err != nil && !isNXDomain(err) {
		return verdict(Fail, "%v", err)
	}
	var recs []dane.Record
	var unusable []string
	for _, rr := range a.rrs {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		r, perr := dane.Parse(fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, t.Certificate))
		if perr != nil {
			unusable = append(unusable, perr.Error())
			continue
		}
		if why := r.Usable(); why != "" {
			unusable = append(unusable, r.String()+": "+why)
			continue
		}
		recs = append(recs, r)
	}
	via := via(owner, a.chain)
	if len(recs) == 0 && len(unusable) == 0 && slices.Contains(c.opts.DANEHosts, mx) {
		return verdict(Warn, "no TLSA records at %s%s, but the config publishes them for %s (dane:): run apply", owner, via, mx)
	}
	if len(recs) == 0 && len(unusable) == 0 {
		return verdict(Pass, "no TLSA records at %s%s: DANE is not in use for %s (add dane: to the config to publish them)", owner, via, mx)
	}
	if len(recs) == 0 {
		return verdict(Fail, "no usable TLSA record at %s%s (%s): senders treat the host as DANE-enabled but cannot authenticate it; publish 3 1 1 <digest> (run apply)", owner, via, strings.Join(unusable, "; "))
	}
	sec, secErr := c.ZoneDNSSEC(ctx, owner)
	chain, err := c.ServedChain(ctx, mx, c.opts.SMTPPort)
	if err != nil {
		return verdict(Fail, "%d TLSA record(s) at %s%s, but the served certificate cannot be read: %v", len(recs), owner, via, err)
	}
	served := dane.KeyOf(chain[0])
	var matched []string
	for _, r := range recs {
		if r.Matches(chain, mx, c.opts.Now()) {
			matched = append(matched, r.String())
		}
	}
	if len(matched) == 0 {
		return verdict(Fail, "none of the %d TLSA record(s) at %s%s matches the certificate %s serves (its key is 3 1 1 %s): senders that validate DANE defer mail; publish that record (run apply) or deploy the key the records name",
			len(recs), owner, via, mx, served.Digest())
	}
	note := fmt.Sprintf("%s matches the certificate served on port %d", short(matched[0]), c.opts.SMTPPort)
	if len(unusable) > 0 {
		note += fmt.Sprintf(" (ignored: %s)", strings.Join(unusable, "; "))
	}
	switch {
	case secErr != nil:
		return verdict(Warn, "%s; whether the zone is signed is unknown: %v", note, secErr)
	case !sec.Signed():
		return verdict(Warn, "%s, but %s", note, sec.Problem())
	}
	return verdict(Pass, "%s; %s", note, sec.Describe())
}

// short abbreviates a TLSA value's hash for a one-line reason.
func short(value string) string {
	f := strings.Fields(value)
	if len(f) == 4 && len(f[3]) > 16 {
		f[3] = f[3][:16] + "…"
	}
	return strings.Join(f, " ")
}
