package authdns

import (
	"context"
	"errors"
	"fmt"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// authoritative asks server for the records of type qtype at name and
// returns the records of that type and the CNAME owned by name, or an
// error when the answer is not zone's own word on it.
func (c *Client) authoritative(ctx context.Context, server, zone, name string, qtype uint16) ([]reconcile.Record, error) {
	resp, err := c.query(ctx, server, name, qtype, false)
	if err != nil {
		return nil, err
	}
	if err := checkAuthoritative(resp); err != nil {
		return nil, fmt.Errorf("server %s, %s %s: %w", server, dns.TypeToString[qtype], name, err)
	}
	if err := checkFromZone(zone, resp); err != nil {
		return nil, fmt.Errorf("server %s, %s %s: %w", server, dns.TypeToString[qtype], name, err)
	}
	return ownRecords(name, qtype, resp.Answer), nil
}

// checkFromZone makes sure an authoritative answer came from zone's own
// data: not synthesised from a DNAME (the name lies under it, and records
// written for it in zone are never seen), and not from another zone the
// server also serves below a zone cut (the SOA of a negative answer names
// the zone that gave it). A referral has no AA bit and is caught before.
func checkFromZone(zone string, resp *dns.Msg) error {
	for _, rr := range resp.Answer {
		if d, ok := rr.(*dns.DNAME); ok {
			return fmt.Errorf("answer synthesised from the DNAME at %s (to %s): the name lies under it", canonical(d.Hdr.Name), canonical(d.Target))
		}
	}
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok && canonical(soa.Hdr.Name) != zone {
			return fmt.Errorf("answer from zone %s, not %s: a zone cut lies between them", canonical(soa.Hdr.Name), zone)
		}
	}
	return nil
}

// checkAuthoritative accepts a NOERROR or NXDOMAIN answer that carries the
// AA bit; anything else is doubt.
func checkAuthoritative(resp *dns.Msg) error {
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return fmt.Errorf("server answered %s, not NOERROR or NXDOMAIN", rcodeName(resp.Rcode))
	}
	if !resp.Authoritative {
		return errors.New("answer lacks the AA bit: the server is a cache or not authoritative for this name (a delegated subzone?)")
	}
	return nil
}

// ownRecords converts the records of type qtype and the CNAME owned by
// name into canonical records; records of other owners (a CNAME's in-zone
// target added by the server) and other types are not ours to judge.
func ownRecords(name string, qtype uint16, answer []dns.RR) []reconcile.Record {
	var out []reconcile.Record
	for _, rr := range answer {
		h := rr.Header()
		if h.Class != dns.ClassINET || !strings.EqualFold(dns.Fqdn(h.Name), name) ||
			(h.Rrtype != qtype && h.Rrtype != dns.TypeCNAME) {
			continue
		}
		rec := reconcile.Record{Name: name, Type: dns.TypeToString[h.Rrtype], TTL: time.Duration(h.Ttl) * time.Second}
		switch v := rr.(type) {
		case *dns.TXT:
			rec.Value = txtValue(v.Txt)
		case *dns.CNAME:
			rec.Value = v.Target
		default:
			// Other types (TLSA, ...) in presentation form, the way
			// providers hand their data back.
			rec.Value = strings.TrimPrefix(rr.String(), h.String())
		}
		out = append(out, reconcile.Canonical(rec))
	}
	return out
}

// query sends one question, RD as given and EDNS0 with ednsSize, over UDP
// and again over TCP when the UDP answer is truncated. It checks that the
// reply answers this question; judging the rcode is the caller's job.
func (c *Client) query(ctx context.Context, server, name string, qtype uint16, recursionDesired bool) (*dns.Msg, error) {
	msg := new(dns.Msg)
	msg.SetQuestion(name, qtype)
	msg.RecursionDesired = recursionDesired
	msg.SetEdns0(ednsSize, false)
	what := fmt.Sprintf("server %s, %s %s", server, dns.TypeToString[qtype], name)

	resp, err := c.exchange(ctx, "udp", server, msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, c.explain(ctx, err))
	}
	if resp.Truncated {
		resp, err = c.exchange(ctx, "tcp", server, msg)
		if err != nil {
			return nil, fmt.Errorf("%s: truncated UDP answer not recovered over TCP: %w", what, c.explain(ctx, err))
		}
		if resp.Truncated {
			return nil, fmt.Errorf("%s: answer truncated even over TCP", what)
		}
	}
	if err := checkReply(msg, resp); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return resp, nil
}

// checkReply makes sure resp is a reply to msg, so that a stray or spoofed
// packet is never read as the zone's content.
func checkReply(msg, resp *dns.Msg) error {
	if !resp.Response || resp.Id != msg.Id {
		return errors.New("reply does not match the query (QR bit or id)")
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError && len(resp.Question) == 0 {
		return nil // some servers echo no question with an error rcode; the rcode check reports it
	}
	q := msg.Question[0]
	if len(resp.Question) != 1 || resp.Question[0].Qtype != q.Qtype || resp.Question[0].Qclass != q.Qclass ||
		!strings.EqualFold(resp.Question[0].Name, q.Name) {
		return fmt.Errorf("reply answers another question (%v)", resp.Question)
	}
	return nil
}

// exchange sends msg once, through Options.Exchange when set, bounded by
// the per-query timeout.
func (c *Client) exchange(ctx context.Context, network, server string, msg *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	exchange := c.opts.Exchange
	if exchange == nil {
		exchange = netExchange
	}
	resp, err := exchange(ctx, network, server, msg)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, errors.New("no reply")
	}
	return resp, nil
}

// netExchange is the network exchange: a fresh connection per query, closed
// when ctx ends, since miekg/dns only honours the context's deadline.
func netExchange(ctx context.Context, network, server string, msg *dns.Msg) (*dns.Msg, error) {
	client := &dns.Client{Net: network, UDPSize: ednsSize}
	if deadline, ok := ctx.Deadline(); ok {
		client.Timeout = time.Until(deadline)
	}
	conn, err := client.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	resp, _, err := client.ExchangeWithConnContext(ctx, msg, conn)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return resp, err
}

// explain turns a timeout into words a user acts on and leaves other errors
// as they are.
func (c *Client) explain(ctx context.Context, err error) error {
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within %v (timeout): %w", c.opts.Timeout, err)
	}
	return err
}

func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rcode)
}

// txtValue joins a TXT record's character-strings with no separator (RFC
// 8461 §3.1, RFC 8460 §3) as the raw bytes on the wire: miekg/dns holds each
// string in presentation form (\" \\ \DDD), which is undone here.
func txtValue(chunks []string) string {
	var b strings.Builder
	for _, s := range chunks {
		b.WriteString(dnstext.Unescape(s))
	}
	return b.String()
}
