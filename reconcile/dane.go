package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
)

// DANEMarker starts the TXT record we keep beside the TLSA records we
// publish at _<port>._tcp.<host>: `v=mtasts-sync1; tlsa=<hex> <hex>` lists
// the `3 1 1` values we published there. It is how a later run, on any
// machine, tells a value we published (ours to remove once it is neither
// the current nor the next key) from one someone else put there (kept):
// the state lives in DNS, next to the records it describes. Senders look
// up TLSA only; a TXT at the name means nothing to them.
const DANEMarker = "v=mtasts-sync1;"

// DANEKindName names the DANE kind of a port in plans: "dane-25".
func DANEKindName(port int) string { return fmt.Sprintf("dane-%d", port) }

// DANEKind is the kind of the TLSA records at _<port>._tcp.<host> for
// every host entry (Domain.HostOnly, Hosts [host]). want maps each TLSA
// owner name (dane.Name) to the `3 1 1` values wanted there, canonical;
// a name without an entry is left alone. Ours at the name: the marker TXT,
// and a TLSA record whose value is wanted or listed in the marker; every
// other record there is foreign and kept.
func DANEKind(port int, want map[string][]string) Kind {
	return Kind{
		Name:      DANEKindName(port),
		Prefix:    fmt.Sprintf("_%d._tcp.", port),
		UnderHost: true,
		Types:     []string{"TLSA", "TXT"},
		OursAt: func(r Record, at []Record) bool {
			if r.Type == "TXT" {
				return isDANEMarker(r.Value)
			}
			if contains(tlsaRecords(want[r.Name]), Record{Name: r.Name, Type: "TLSA", Value: r.Value}) {
				return true
			}
			for _, m := range at {
				if m.Type == "TXT" && isDANEMarker(m.Value) && markerLists(m.Value, r.Value) {
					return true
				}
			}
			return false
		},
		Want: func(_ Domain, name string) ([]Record, bool) {
			values, ok := want[name]
			if !ok {
				return nil, false
			}
			out := tlsaRecords(values)
			if m := daneMarker(values); m != "" {
				out = append(out, Record{Type: "TXT", Value: m})
			}
			return out, true
		},
	}
}

func tlsaRecords(values []string) []Record {
	out := make([]Record, 0, len(values))
	for _, v := range values {
		out = append(out, Record{Type: "TLSA", Value: v})
	}
	return out
}

func isDANEMarker(txt string) bool {
	return strings.HasPrefix(strings.TrimSpace(txt), DANEMarker)
}

// daneMarker renders the marker for the `3 1 1` values among values,
// sorted; "" when there are none.
func daneMarker(values []string) string {
	var hexes []string
	for _, v := range values {
		r, err := dane.Parse(v)
		if err != nil || r.Usage != dane.DANEEE || r.Selector != dane.SelectorSPKI || r.MatchingType != dane.MatchSHA256 {
			continue
		}
		hexes = append(hexes, strings.Fields(r.String())[3])
	}
	if len(hexes) == 0 {
		return ""
	}
	sort.Strings(hexes)
	return DANEMarker + " tlsa=" + strings.Join(hexes, " ")
}

// markerLists reports whether the marker lists the TLSA value v.
func markerLists(marker, v string) bool {
	r, err := dane.Parse(v)
	if err != nil || r.Usage != dane.DANEEE || r.Selector != dane.SelectorSPKI || r.MatchingType != dane.MatchSHA256 {
		return false
	}
	digest := strings.Fields(r.String())[3]
	_, list, ok := strings.Cut(marker, "tlsa=")
	if !ok {
		return false
	}
	for _, h := range strings.Fields(list) {
		if strings.EqualFold(strings.Trim(h, ";,"), digest) {
			return true
		}
	}
	return false
}

// DANEClaimed returns, among the records at one _<port>._tcp.<host> name,
// those a marker of ours claims there: the TLSA records a marker lists,
// then the markers themselves (the order to delete them in: a TLSA value
// left without its marker would be foreign to a later run). It is nil
// when no marker is at the name.
func DANEClaimed(at []Record) []Record {
	var tlsa, markers []Record
	for _, r := range at {
		if r.Type == "TXT" && isDANEMarker(r.Value) {
			markers = append(markers, r)
		}
	}
	if len(markers) == 0 {
		return nil
	}
	for _, r := range at {
		if r.Type != "TLSA" {
			continue
		}
		for _, m := range markers {
			if markerLists(m.Value, r.Value) {
				tlsa = append(tlsa, r)
				break
			}
		}
	}
	sort.SliceStable(tlsa, func(i, j int) bool { return tlsa[i].Value < tlsa[j].Value })
	return append(tlsa, markers...)
}
