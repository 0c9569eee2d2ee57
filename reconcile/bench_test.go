package reconcile

import (
	"fmt"
	"testing"
	"time"
)

// planInput is one zone's planning input.
type planInput struct {
	zone    string
	domains []Domain
	live    []Record
}

// benchInputs builds zones×perZone domains, each zone holding 50 foreign
// records; even domains have nothing yet, odd ones hold stale records (an
// old id, TLSRPT in another spelling, the CNAME to an old host).
func benchInputs(zones, perZone int) (Spec, []planInput) {
	spec := Spec{
		Kinds:   MTASTSKinds("mail.example.com", rptTXT),
		Layout:  Direct,
		TTL:     time.Hour,
		Managed: map[string]bool{},
	}
	var out []planInput
	n := 0
	for z := range zones {
		zone := fmt.Sprintf("z%05d.example", z)
		in := planInput{zone: zone}
		for i := range 10 {
			in.live = append(in.live,
				Record{Name: fmt.Sprintf("host%d.%s.", i, zone), Type: "A", Value: fmt.Sprintf("192.0.2.%d", i+1), TTL: time.Hour},
				Record{Name: fmt.Sprintf("host%d.%s.", i, zone), Type: "AAAA", Value: fmt.Sprintf("2001:db8::%x", i+1), TTL: time.Hour},
				Record{Name: fmt.Sprintf("alias%d.%s.", i, zone), Type: "CNAME", Value: fmt.Sprintf("host%d.%s.", i, zone), TTL: time.Hour})
		}
		in.live = append(in.live,
			Record{Name: zone + ".", Type: "MX", Value: "10 mx1." + zone + ".", TTL: time.Hour},
			Record{Name: zone + ".", Type: "MX", Value: "20 mx2." + zone + ".", TTL: time.Hour},
			Record{Name: zone + ".", Type: "TXT", Value: "v=spf1 mx -all", TTL: time.Hour},
			Record{Name: zone + ".", Type: "TXT", Value: "google-site-verification=abc", TTL: time.Hour})
		for i := len(in.live); i < 50; i++ {
			in.live = append(in.live, Record{Name: fmt.Sprintf("sel%d._domainkey.%s.", i, zone), Type: "TXT", Value: "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC", TTL: time.Hour})
		}
		for d := range perZone {
			name := zone
			if d > 0 {
				name = fmt.Sprintf("m%02d.%s", d, zone)
			}
			spec.Managed[name] = true
			in.domains = append(in.domains, Domain{Name: name, Zone: zone, Provider: "p", PolicyID: id})
			if n%2 == 1 {
				in.live = append(in.live,
					Record{Name: "mta-sts." + name + ".", Type: "CNAME", Value: "old.example.com.", TTL: time.Hour},
					Record{Name: "_smtp._tls." + name + ".", Type: "TXT", Value: "v=TLSRPTv1;rua=mailto:old@example.com", TTL: time.Hour},
					Record{Name: "_mta-sts." + name + ".", Type: "TXT", Value: "v=STSv1; id=old", TTL: time.Hour})
			}
			n++
		}
		out = append(out, in)
	}
	return spec, out
}

// BenchmarkPlan10k plans 10,000 domains in 1,000 zones of 50 foreign
// records each, half of them missing every record and half stale: every
// domain has three changes. Target: under 200 ms and 100 MB per op.
func BenchmarkPlan10k(b *testing.B) {
	spec, inputs := benchInputs(1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		changes := 0
		for _, in := range inputs {
			zp := PlanZone(spec, in.zone, "p", in.domains, in.live)
			changes += len(zp.Changes)
		}
		if changes != 30000 {
			b.Fatalf("%d changes, want 30000", changes)
		}
	}
}

// BenchmarkPlan10kInSync plans the same 10,000 domains when every record
// is already right: the cost of a no-op run's planning.
func BenchmarkPlan10kInSync(b *testing.B) {
	spec, inputs := benchInputs(1000, 10)
	for i := range inputs {
		var live []Record
		for _, r := range inputs[i].live {
			if r.Value == "old.example.com." || r.Value == "v=STSv1; id=old" || r.Value == "v=TLSRPTv1;rua=mailto:old@example.com" {
				continue
			}
			live = append(live, r)
		}
		for _, d := range inputs[i].domains {
			live = append(live, spec.Desired(d)...)
		}
		inputs[i].live = live
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range inputs {
			if zp := PlanZone(spec, in.zone, "p", in.domains, in.live); len(zp.Changes) != 0 {
				b.Fatalf("zone %s: %d changes, want none", in.zone, len(zp.Changes))
			}
		}
	}
}
