package providers_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/providers"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// TestTLSAOnEveryProvider writes TLSA records through every provider's
// real client (and, for Cloudflare, our structured-data writer) against
// its fake speaking the service's wire format, or BIND: ours beside a
// foreign TLSA and a TXT at the same name, the next key beside the current
// one, then the current one removed; the foreign records survive.
func TestTLSAOnEveryProvider(t *testing.T) {
	const name = "_25._tcp.mail.example.com."
	cur := "3 1 1 " + strings.Repeat("a1", 32)
	next := "3 1 1 " + strings.Repeat("b2", 32)
	foreign := "2 1 1 " + strings.Repeat("C3", 32) // upper case, as BIND and some UIs print it
	seed := []zoneSeed{{zoneCom, []string{
		"mail.example.com. 3600 IN A 192.0.2.25",
		name + " 3600 IN TLSA " + foreign,
		name + ` 3600 IN TXT "kept"`,
	}}}
	for _, pc := range providerCases() {
		t.Run(pc.typ, func(t *testing.T) {
			tg := pc.setup(t, seed)
			settings := map[string]string{}
			for _, kv := range tg.block.settings {
				settings[kv.key] = kv.value
			}
			p, err := providers.Build(t.Context(), tg.block.name, tg.block.typ, settings, tg.opts)
			if err != nil {
				t.Fatal(err)
			}
			z := p.Zone(zoneCom)
			tlsaAt := func() []reconcile.Record {
				t.Helper()
				live, err := z.Records(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				var out []reconcile.Record
				for _, r := range live {
					if r.Name == name && r.Type == "TLSA" {
						out = append(out, r)
					}
				}
				return out
			}
			values := func(rs []reconcile.Record) []string {
				var v []string
				for _, r := range rs {
					v = append(v, r.Value)
				}
				slices.Sort(v)
				return v
			}
			rec := func(v string) reconcile.Record {
				return reconcile.Record{Name: name, Type: "TLSA", Value: v, TTL: time.Hour}
			}
			find := func(rs []reconcile.Record, v string) reconcile.Record {
				for _, r := range rs {
					if r.Value == v {
						return r
					}
				}
				t.Fatalf("%s not among %q", v, values(rs))
				return reconcile.Record{}
			}
			lowForeign := strings.ToLower(foreign)

			live := tlsaAt()
			if got := values(live); !slices.Equal(got, []string{lowForeign}) {
				t.Fatalf("seeded TLSA read as %q, want the canonical %q", got, lowForeign)
			}
			steps := []struct {
				what string
				w    func(live []reconcile.Record) reconcile.RRsetWrite
				want []string
			}{
				{"create beside a foreign TLSA", func(live []reconcile.Record) reconcile.RRsetWrite {
					return reconcile.RRsetWrite{Name: name, Type: "TLSA", Want: []reconcile.Record{rec(cur)}, Keep: live}
				}, []string{lowForeign, cur}},
				{"next beside current", func(live []reconcile.Record) reconcile.RRsetWrite {
					return reconcile.RRsetWrite{Name: name, Type: "TLSA", Want: []reconcile.Record{rec(next)}, Keep: live}
				}, []string{lowForeign, cur, next}},
				{"current removed after the swap", func(live []reconcile.Record) reconcile.RRsetWrite {
					return reconcile.RRsetWrite{Name: name, Type: "TLSA", Have: []reconcile.Record{find(live, cur)},
						Keep: []reconcile.Record{find(live, lowForeign), find(live, next)}}
				}, []string{lowForeign, next}},
			}
			for _, st := range steps {
				if err := z.WriteRRset(t.Context(), st.w(live)); err != nil {
					t.Fatalf("%s: %v", st.what, err)
				}
				live = tlsaAt()
				if got := values(live); !slices.Equal(got, st.want) {
					t.Fatalf("%s: TLSA %q, want %q", st.what, got, st.want)
				}
			}
			dump := strings.Join(tg.dump(t, zoneCom), "\n")
			for _, keep := range []string{"IN\tTXT\t\"kept\"", "IN\tA\t192.0.2.25"} {
				if !strings.Contains(dump, keep) {
					t.Errorf("%s lost from the zone:\n%s", keep, dump)
				}
			}
		})
	}
}
