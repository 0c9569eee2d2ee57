package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	. "github.com/mtasts-sync/mtasts-sync/reconcile"
)

const (
	id     = "c0a762642c8ff96deabc"
	stsTXT = "v=STSv1; id=" + id
	rptTXT = "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
)

// recs parses "name TYPE value" lines with absolute names.
func recs(ss ...string) []Record {
	out := make([]Record, len(ss))
	for i, s := range ss {
		f := strings.SplitN(s, " ", 3)
		out[i] = Canonical(Record{Name: f[0], Type: f[1], Value: f[2], TTL: time.Hour})
	}
	return out
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// samplePlan has every kind of line a plan can show.
func samplePlan() Plan {
	s := Spec{
		Kinds:   MTASTSKinds("mail.example.com", rptTXT),
		Layout:  Direct,
		Primary: "example.com",
		TTL:     time.Hour,
		Managed: map[string]bool{"example.com": true, "example.org": true},
	}
	org := PlanZone(s, "example.org", "files", []Domain{{Name: "example.org", PolicyID: id}},
		recs("_mta-sts.example.org. TXT v=STSv1; id=old", "_mta-sts.example.org. TXT owner=postmaster"))
	net := PlanZone(s, "example.net", "files", []Domain{{Name: "example.net", PolicyID: id}},
		recs("mta-sts.example.net. A 192.0.2.7", "_smtp._tls.example.net. CNAME _smtp._tls.example.com.", "_smtp._tls.example.net. TXT v=TLSRPTv1; rua=mailto:x@example.net"))
	com := PlanZone(s, "example.com", "files", []Domain{{Name: "example.com", PolicyID: id}},
		recs("mta-sts.example.com. CNAME mail.example.com.", "_mta-sts.example.com. TXT "+stsTXT, "_smtp._tls.example.com. TXT "+rptTXT))
	com.ConfirmedByDNS = true
	// The engine says why an id changes.
	const why = "policy: mode testing -> enforce, max_age 604800 -> 1209600"
	for i, c := range org.Changes {
		if c.Kind == KindSTS && c.Action == Update {
			org.Changes[i].Why = why
		}
	}
	p := Plan{
		Steps: []Step{{Kind: "policy-file", Target: "/srv/www/.well-known/mta-sts.txt", Action: Update, Old: []string{"id old"}, New: []string{"id " + id}, Reason: why}},
		Zones: []ZonePlan{org, net, com, {Zone: "example.info", Provider: "cf", Domains: []string{"example.info"},
			Err: errors.New("reading zone example.info: HTTP 500")}},
		Skipped:  []Skipped{{Domain: "backup.example", Reason: "this mailcow is only backup MX for it"}},
		Warnings: []string{"mtasts-sync.yaml:3: policy.max_age: below one day"},
		Retiring: []Retirement{{Domain: "old.example.org", Zone: "example.org", Provider: "files", Stage: "retiring",
			Since: "2026-11-20T00:00:00Z", Until: "2026-11-28T00:00:00Z", PolicyID: "7f6024b3b59c544a2c28",
			Note: "retiring since 2026-11-20: mode none; records removed after 2026-11-27"}},
		Orphans: []Orphan{{Domain: "gone.example.com", Zone: "example.com", Provider: "files",
			Records: []string{"mta-sts.gone.example.com. CNAME mail.example.com."},
			Advice:  "ours by shape, but gone.example.com is neither a domain of the config or mailcow nor in retire:; left alone"}},
	}
	p = Withhold(p, map[Hold]string{{Domain: "example.net", Kind: KindSTS}: "https://mta-sts.example.net/.well-known/mta-sts.txt: 404 Not Found"})
	p.Sort()
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); rerun with -update if the change is meant:\n%s", path, diff)
	}
}

func TestPlanText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, samplePlan(), Style{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", b.Bytes())
}

func TestPlanTextColor(t *testing.T) {
	var plain, color bytes.Buffer
	p := samplePlan()
	_ = Text(&plain, p, Style{})
	_ = Text(&color, p, Style{Color: true})
	if !bytes.Contains(color.Bytes(), []byte("\x1b[32m  + ")) {
		t.Error("no colour on an added line")
	}
	stripped := bytes.NewBuffer(nil)
	for _, b := range bytes.SplitAfter(color.Bytes(), []byte("\n")) {
		b = bytes.ReplaceAll(b, []byte("\x1b[0m"), nil)
		for _, c := range colors {
			b = bytes.ReplaceAll(b, []byte(c), nil)
		}
		stripped.Write(b)
	}
	if diff := cmp.Diff(plain.String(), stripped.String()); diff != "" {
		t.Errorf("colour changes the text (-plain +stripped):\n%s", diff)
	}
}

func TestPlanJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", b.Bytes())
	var doc struct {
		Changes []map[string]any `json:"changes"`
		Summary map[string]int   `json:"summary"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"domain", "zone", "provider", "name", "type", "action", "old", "new"} {
		if _, ok := doc.Changes[0][k]; !ok {
			t.Errorf("change lacks %q", k)
		}
	}
	for _, k := range []string{"create", "update", "delete", "conflict", "in_sync"} {
		if _, ok := doc.Summary[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
}

func TestPlanEmptyJSONHasArrays(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, Plan{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("null")) {
		t.Errorf("empty plan has nulls:\n%s", b.String())
	}
}
