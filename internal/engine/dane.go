package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// daneReadTimeout bounds reading the key a host serves: a firewalled port
// 25 must not hold a run for the minute a policy fetch may take.
const daneReadTimeout = 20 * time.Second

// daneHost is one host of dane: in one run: the zone holding it and the
// TLSA values wanted at each of its ports, or why it cannot be planned.
type daneHost struct {
	host, zone, provider string
	want                 map[int][]string // port -> canonical TLSA values
	err                  error
}

// daneRun is what dane: adds to a run: the hosts, the kinds (one per
// port) and warnings for the plan.
type daneRun struct {
	hosts    []daneHost
	kinds    []reconcile.Kind
	warnings []string
	// next is next_cert_file's key, for the rollover advice.
	next *dane.Key
}

// rollover says, per host, where a key change stands once the plan is
// made: the next key's record goes out with this apply (wait the TTL
// after it), waits (withheld), or is in DNS already (swap once it has
// been there longer than the TTL).
func (dr daneRun) rollover(p reconcile.Plan, ttl time.Duration) []string {
	if dr.next == nil {
		return nil
	}
	value := dr.next.Record().String()
	status := map[string]reconcile.Action{} // TLSA owner name -> action writing next there
	for _, zp := range p.Zones {
		for _, c := range zp.Changes {
			switch {
			case !strings.HasPrefix(c.Kind, "dane-"):
			case c.Action == reconcile.Conflict:
				// Something in the way at the name: ours cannot be there.
				status[c.Name] = c.Action
			case c.Type == "TLSA" && slices.Contains(c.New, value) && status[c.Name] != reconcile.Conflict:
				status[c.Name] = c.Action
			}
		}
	}
	var out []string
	for _, h := range dr.hosts {
		if h.err != nil {
			continue
		}
		var creating, waiting []string
		for port := range h.want {
			switch status[dane.Name(h.host, port)] {
			case reconcile.Create, reconcile.Update:
				creating = append(creating, strconv.Itoa(port))
			case reconcile.Withheld, reconcile.Conflict, reconcile.Acknowledged:
				waiting = append(waiting, strconv.Itoa(port))
			}
		}
		key := fmt.Sprintf("the next key (3 1 1 %s…)", dr.next.Digest()[:16])
		switch {
		case len(waiting) > 0:
			out = append(out, fmt.Sprintf("dane: rollover on %s: %s is not published yet (see the withheld or conflicting change): do not swap the key", h.host, key))
		case len(creating) > 0:
			out = append(out, fmt.Sprintf("dane: rollover on %s: %s goes into DNS with this apply; swap the key on the server no earlier than the TTL (%s) after it, plus the time your secondary servers take; then point cert_file at it and remove next_cert_file, and the old record goes on the run after", h.host, key, ttl))
		default:
			out = append(out, fmt.Sprintf("dane: rollover on %s: %s is in DNS beside the current one; once it has been there longer than the TTL (%s) plus your secondaries' delay, swap the key on the server, point cert_file at it and remove next_cert_file; the old record goes on the run after", h.host, key, ttl))
		}
	}
	return out
}

// dane works out, for every host and port of dane:, the TLSA set to
// publish: the current key (cert_file, else the key the host serves) and
// the next key (next_cert_file). Without hosts in the config (mailcow, no
// policy_host) the host is policyHost, the one the run found. The gate
// is applied here: with the gate on, the key each host serves is read
// over STARTTLS, and a cert_file that disagrees with it is an error for
// that host, naming both digests — its records are left alone, other
// hosts go on. --domain runs leave DANE out: hosts are not domains.
func (e *Engine) dane(ctx context.Context, policyHost string) daneRun {
	var dr daneRun
	if e.cfg.DANE == nil || len(e.opts.Only) > 0 {
		return dr
	}
	d := *e.cfg.DANE
	if len(d.Hosts) == 0 && policyHost != "" {
		// mailcow without policy_host: its hostname, found at run time.
		d.Hosts = []string{policyHost}
	}
	var cur, next *dane.Key
	var keyErr error
	if d.CertFile != "" {
		k, err := dane.ReadFile(d.CertFile)
		if err != nil {
			keyErr = fmt.Errorf("dane.cert_file: %w", err)
		}
		cur = &k
	}
	if d.NextCertFile != "" {
		k, err := dane.ReadFile(d.NextCertFile)
		if err != nil {
			keyErr = errors.Join(keyErr, fmt.Errorf("dane.next_cert_file: %w", err))
		}
		next = &k
	}
	dr.hosts = make([]daneHost, len(d.Hosts))
	notes := make([][]string, len(d.Hosts))
	e.each(len(d.Hosts), func(i int) {
		h := daneHost{host: d.Hosts[i], want: map[int][]string{}}
		h.zone, h.provider, h.err = e.zoneOf(ctx, h.host)
		if h.err == nil {
			h.err = keyErr
		}
		if h.err == nil {
			var errs []error
			for _, port := range d.Ports {
				values, note, err := e.daneWant(ctx, h.host, port, cur, next)
				errs = append(errs, err)
				if note != "" {
					notes[i] = append(notes[i], note)
				}
				if err == nil {
					h.want[port] = values
				}
			}
			h.err = errors.Join(errs...)
		}
		if h.err != nil {
			h.err = fmt.Errorf("dane host %s: %w", h.host, h.err)
		}
		dr.hosts[i] = h
	})
	for _, n := range notes {
		dr.warnings = append(dr.warnings, n...)
	}
	for _, port := range d.Ports {
		want := map[string][]string{}
		for _, h := range dr.hosts {
			if v, ok := h.want[port]; ok && h.err == nil {
				want[dane.Name(h.host, port)] = v
			}
		}
		dr.kinds = append(dr.kinds, reconcile.DANEKind(port, want))
	}
	if keyErr == nil {
		dr.next = next
	}
	dr.warnings = append(dr.warnings, e.dnssecWarnings(ctx, dr.hosts)...)
	return dr
}

// daneWant is the TLSA set for host:port. With the gate on (or without
// cert_file, whose key it replaces) the served key is read; a cert_file
// that disagrees with it is an error naming both digests. note says what
// the plan should mention.
func (e *Engine) daneWant(ctx context.Context, host string, port int, cur, next *dane.Key) (values []string, note string, err error) {
	var served *dane.Key
	if e.gate != nil || cur == nil {
		chain, rerr := e.daneCheck.ServedChain(ctx, host, port)
		switch {
		case rerr == nil:
			k := dane.KeyOf(chain[0])
			served = &k
		case cur == nil:
			return nil, "", fmt.Errorf("cannot read the key %s:%d serves (%v) and dane.cert_file is not set: its TLSA records are left as they are; set cert_file or run where port %d is reachable", host, port, rerr, port)
		default:
			note = fmt.Sprintf("dane: could not read the key %s:%d serves (%v): its TLSA records follow cert_file unchecked", host, port, rerr)
		}
	}
	if cur != nil && served != nil && cur.Digest() != served.Digest() {
		hint := "point cert_file at the certificate the host serves, or deploy the one cert_file names"
		if next != nil && next.Digest() == served.Digest() {
			hint = "the host already serves next_cert_file's key: point cert_file at it and remove next_cert_file"
		}
		return nil, "", fmt.Errorf("%s:%d serves the key 3 1 1 %s but cert_file %s holds 3 1 1 %s: publishing that would make DANE senders refuse mail; %s",
			host, port, served.Digest(), e.cfg.DANE.CertFile, cur.Digest(), hint)
	}
	if cur == nil {
		cur = served
	}
	values = []string{cur.Record().String()}
	if next != nil && next.Digest() != cur.Digest() {
		values = append(values, next.Record().String())
	}
	sort.Strings(values)
	return values, note, nil
}

// dnssecWarnings says, per zone holding a DANE host, when senders would
// ignore its TLSA records because the zone is not signed. Asked only with
// the publish gate on, which is when a run looks at the world.
func (e *Engine) dnssecWarnings(ctx context.Context, hosts []daneHost) []string {
	if e.gate == nil {
		return nil
	}
	seen := map[string]bool{}
	var zones []string
	for _, h := range hosts {
		if h.err == nil && !seen[h.zone] {
			seen[h.zone] = true
			zones = append(zones, h.zone)
		}
	}
	sort.Strings(zones)
	out := make([]string, len(zones))
	e.each(len(zones), func(i int) {
		sec, err := e.daneCheck.ZoneDNSSEC(ctx, zones[i])
		switch {
		case err != nil:
			out[i] = fmt.Sprintf("dane: whether zone %s is DNSSEC-signed is unknown (%v): senders use TLSA records only from signed zones", zones[i], err)
		case !sec.Signed():
			out[i] = "dane: " + sec.Problem()
		}
	})
	var warnings []string
	for _, w := range out {
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings
}

// daneHolds is the gate at apply time (at plan time the wanted set was
// built from the served key, so it holds it by construction): for
// each host whose TLSA records a change writes, the key the host serves
// now must be among the records the name will hold afterwards. A host
// that cannot be reached is not held (its set was checked against
// cert_file when planned).
func (e *Engine) daneHolds(ctx context.Context, p reconcile.Plan) map[reconcile.Hold]string {
	if e.gate == nil || e.cfg.DANE == nil {
		return nil
	}
	type target struct {
		hold reconcile.Hold
		name string
		port int
		host string
		next []string // TLSA values at name after the change
	}
	var todo []target
	for _, zp := range p.Zones {
		for _, c := range zp.Changes {
			if c.Type != "TLSA" || !c.Applies() || !strings.HasPrefix(c.Kind, "dane-") {
				continue
			}
			host, port, ok := dane.ParseName(c.Name)
			if !ok {
				continue
			}
			t := target{hold: reconcile.Hold{Domain: c.Domain, Kind: c.Kind}, name: c.Name, port: port, host: host}
			for _, r := range append(append([]reconcile.Record(nil), c.Keep...), c.Want...) {
				t.next = append(t.next, r.Value)
			}
			todo = append(todo, t)
		}
	}
	reasons := make([]string, len(todo))
	e.each(len(todo), func(i int) {
		t := todo[i]
		chain, err := e.daneCheck.ServedChain(ctx, t.host, t.port)
		if err != nil {
			return
		}
		served := dane.KeyOf(chain[0]).Record().String()
		for _, v := range t.next {
			if v == served {
				return
			}
		}
		reasons[i] = fmt.Sprintf("%s:%d serves the key 3 1 1 %s, which the TLSA records at %s would no longer hold: DANE senders would refuse mail; the change waits (check cert_file and next_cert_file)", t.host, t.port, dane.KeyOf(chain[0]).Digest(), strings.TrimSuffix(t.name, "."))
	})
	out := map[reconcile.Hold]string{}
	for i, t := range todo {
		if reasons[i] != "" {
			out[t.hold] = reasons[i]
		}
	}
	return out
}
