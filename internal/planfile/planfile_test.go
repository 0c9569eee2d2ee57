package planfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

func rec(name, typ, value string) reconcile.Record {
	return reconcile.Canonical(reconcile.Record{Name: name, Type: typ, Value: value, TTL: time.Hour})
}

// samplePlan has every part a saved plan carries.
func samplePlan() reconcile.Plan {
	spec := reconcile.Spec{
		Kinds:   reconcile.MTASTSKinds("mail.example.com", "v=TLSRPTv1; rua=mailto:tls@example.com"),
		Layout:  reconcile.Direct,
		Primary: "example.com",
		TTL:     time.Hour,
		Managed: map[string]bool{"example.org": true},
	}
	live := []reconcile.Record{
		rec("_mta-sts.example.org.", "TXT", "v=STSv1; id=old"),
		rec("_mta-sts.example.org.", "TXT", "owner=postmaster"),
		rec("www.example.org.", "A", "192.0.2.1"),
	}
	zp := reconcile.PlanZone(spec, "example.org", "files", []reconcile.Domain{{Name: "example.org", Zone: "example.org", Provider: "files", PolicyID: "new"}}, live)
	zp.Changes[2].Why = "policy: mode testing -> enforce"
	pol := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 86400, MX: []string{"mail.example.com"}}
	return reconcile.Plan{
		Steps: []reconcile.Step{
			{Kind: reconcile.StepPolicyFile, Target: "/srv/mta-sts.txt", Action: reconcile.Update, Old: []string{"id old"}, New: []string{"id new"},
				Reason: "policy: mode testing -> enforce", Content: pol.Render(), Seen: reconcile.FingerprintBytes([]byte("old"))},
			{Kind: reconcile.StepMailcowPolicy, Target: "example.net", Action: reconcile.Create, New: []string{"mode enforce"},
				MailcowSTS: &reconcile.MailcowSTS{Domain: "example.net", Mode: "enforce", MX: []string{"mail.example.com"}, MaxAge: 86400, Active: true, Add: true}},
		},
		Zones:    []reconcile.ZonePlan{zp, {Zone: "example.info", Provider: "cf", Domains: []string{"example.info"}, Err: errors.New("HTTP 500")}},
		Skipped:  []reconcile.Skipped{{Domain: "backup.example", Reason: "backup MX"}},
		Warnings: []string{"a warning"},
		Expected: map[string]mtasts.Policy{"example.org": pol},
		AliasOf:  map[string]string{"alias.example": "example.org"},
	}
}

func save(t *testing.T, p reconcile.Plan) []byte {
	t.Helper()
	data, err := New(p, Meta{ToolVersion: "1.2.3", Created: time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC),
		ConfigPath: "/etc/mtasts-sync.yaml", ConfigContent: []byte("config")}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRoundTrip(t *testing.T) {
	p := samplePlan()
	f, err := Read(bytes.NewReader(save(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Plan()
	opts := []cmp.Option{
		cmpopts.EquateEmpty(),
		cmpopts.IgnoreFields(reconcile.Record{}, "Raw"),
		cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) }),
	}
	if diff := cmp.Diff(p, got, opts...); diff != "" {
		t.Errorf("plan after a round trip (-saved +read):\n%s", diff)
	}
	if f.FormatVersion != FormatVersion || f.ToolVersion != "1.2.3" || f.Config.Path != "/etc/mtasts-sync.yaml" ||
		f.Config.SHA256 != reconcile.FingerprintBytes([]byte("config")) || !f.Created.Equal(time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("meta = %+v", f)
	}
	// The names the plan writes carry what it saw there.
	seen := f.Zones[0].Seen
	if len(seen) != 3 || seen[0].Name != "_mta-sts.example.org." || len(seen[0].Records) != 2 {
		t.Errorf("seen = %+v", seen)
	}
	// And again: byte for byte the same file.
	if again := save(t, got); !bytes.Equal(again, save(t, p)) {
		t.Errorf("a read plan saves differently:\n%s", again)
	}
}

func TestReadRefuses(t *testing.T) {
	good := string(save(t, samplePlan()))
	tests := []struct {
		name, file, want string
	}{
		{"future format", strings.Replace(good, `"format_version": 1`, `"format_version": 2`, 1), "made with plan file format 2; this mtasts-sync reads format 1 only: run plan again"},
		{"no format", strings.Replace(good, `"format_version": 1,`, ``, 1), "no format_version"},
		{"not JSON", "plan: yes\n", "not a plan file"},
		{"unknown field", strings.Replace(good, `"tool_version"`, `"extra": 1, "tool_version"`, 1), `unknown field "extra"`},
		{"edited records", strings.ReplaceAll(good, `"value": "owner=postmaster"`, `"value": "owner=someone"`), "fingerprint does not match"},
		{"trailing data", good + "{}", "not a plan file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"format_version": 1}`))
	f.Add([]byte(`{"format_version": 1, "zones": [{"seen": [{"name": "a.", "records": [], "fingerprint": ""}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		_ = pf.Plan()
	})
}
