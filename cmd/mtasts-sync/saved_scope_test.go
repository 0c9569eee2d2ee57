package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/planfile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// editPlan loads a saved plan, lets edit change it, and saves it again
// with every fingerprint recomputed: a hostile edit that passes the
// file's own consistency checks.
func editPlan(t *testing.T, path string, edit func(f *planfile.File)) {
	t.Helper()
	f, err := planfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(&f)
	for i := range f.Zones {
		for j := range f.Zones[i].Seen {
			n := &f.Zones[i].Seen[j]
			var recs []reconcile.Record
			for _, r := range n.Records {
				recs = append(recs, reconcile.Canonical(reconcile.Record{Name: r.Name, Type: r.Type, Value: r.Value, TTL: time.Duration(r.TTL) * time.Second}))
			}
			n.Fingerprint = reconcile.Fingerprint(recs)
		}
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := planfile.Load(path); err != nil {
		t.Fatalf("the edited plan does not even load: %v", err)
	}
}

// zoneOf returns the saved zone named name.
func zoneOf(t *testing.T, f *planfile.File, name string) *planfile.Zone {
	t.Helper()
	for i := range f.Zones {
		if f.Zones[i].Zone == name {
			return &f.Zones[i]
		}
	}
	t.Fatalf("the plan has no zone %s", name)
	return nil
}

// changeAt returns the saved change at name of type typ.
func changeAt(t *testing.T, z *planfile.Zone, name, typ string) *planfile.Change {
	t.Helper()
	for i := range z.Changes {
		if z.Changes[i].Name == name && z.Changes[i].Type == typ {
			return &z.Changes[i]
		}
	}
	t.Fatalf("zone %s has no change at %s %s", z.Zone, name, typ)
	return nil
}

// apexOrg is what the quickstart's example.org zone holds at its apex.
var apexOrg = []planfile.Record{
	{Name: "example.org.", Type: "MX", Value: "10 mail.example.com.", TTL: 3600},
	{Name: "example.org.", Type: "NS", Value: "ns1.example.com.", TTL: 3600},
	{Name: "example.org.", Type: "SOA", Value: "ns1.example.com. hostmaster.example.com. 2026112801 7200 3600 1209600 3600", TTL: 3600},
	{Name: "example.org.", Type: "TXT", Value: "v=spf1 include:example.com -all", TTL: 3600},
}

// TestSavedPlanScope: a saved plan edited to do more than a plan of the
// config could (fingerprints recomputed, so the file is self-consistent)
// is refused before anything is read or written, naming what is out of
// scope.
func TestSavedPlanScope(t *testing.T) {
	withPolicyFile := func(t *testing.T, cfg, dir string) {
		replaceIn(t, cfg, "  max_age: 604800\n", "  max_age: 604800\n  file: "+filepath.Join(dir, "policy.txt")+"\n")
	}
	enforce := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 31557600, MX: []string{"evil.example"}}
	tests := []struct {
		name  string
		setup func(t *testing.T, cfg, dir string)
		edit  func(t *testing.T, f *planfile.File, dir string)
		want  string
	}{
		{"delete the MX at the apex", nil, func(t *testing.T, f *planfile.File, _ string) {
			z := zoneOf(t, f, "example.org")
			z.Changes = append(z.Changes, planfile.Change{Domain: "example.org", Kind: "sts", Name: "example.org.", Type: "MX",
				Action: reconcile.Delete, Old: []string{"10 mail.example.com."}, New: []string{}, Have: apexOrg[:1], Want: []planfile.Record{}, Keep: []planfile.Record{}})
			z.Seen = append(z.Seen, planfile.Name{Name: "example.org.", Records: apexOrg})
		}, `zone example.org: delete example.org. MX: not the sts name of domain "example.org"`},
		{"an MX at our name", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "mta-sts.example.org.", "CNAME")
			c.Type = "MX"
			c.Want = []planfile.Record{{Name: c.Name, Type: "MX", Value: "10 evil.example.", TTL: 3600}}
		}, "kind policy-host holds no MX records"},
		{"a record under another name", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "mta-sts.example.org.", "CNAME")
			c.Want = []planfile.Record{{Name: "www.example.org.", Type: "CNAME", Value: "mail.example.com.", TTL: 3600}}
		}, "a record to write is www.example.org. CNAME, not at the change's name and type"},
		{"delete the foreign TXT beside our id", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "_mta-sts.example.org.", "TXT")
			c.Have = append(c.Have, c.Keep...)
			c.Keep = []planfile.Record{}
		}, `TXT "owner=postmaster" is not ours to remove`},
		{"remove a record the plan never saw", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "_mta-sts.example.org.", "TXT")
			c.Keep = append(c.Keep, planfile.Record{Name: c.Name, Type: "TXT", Value: "planted", TTL: 60})
		}, `TXT "planted" is not among the records the plan saw there`},
		{"another TLSRPT address", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.net"), "_smtp._tls.example.net.", "TXT")
			c.Want[0].Value = "v=TLSRPTv1; rua=mailto:spy@evil.example"
		}, `TXT "v=TLSRPTv1; rua=mailto:spy@evil.example" is not what the config asks for`},
		{"the policy host CNAME elsewhere", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "mta-sts.example.org.", "CNAME")
			c.Want[0].Value = "evil.example."
		}, "CNAME evil.example. is not what the config asks for"},
		{"a domain the config does not name", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "mta-sts.example.org.", "CNAME")
			c.Domain, c.Name = "shop.example.org", "mta-sts.shop.example.org."
			c.Want[0].Name = c.Name
		}, "shop.example.org is not in domains: or retire:"},
		{"the id not gated", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "_mta-sts.example.org.", "TXT")
			c.Gated = false
		}, "gated is false, but the publish gate decides every sts change and no other"},
		{"another zone", nil, func(t *testing.T, f *planfile.File, _ string) {
			z := zoneOf(t, f, "example.org")
			z.Zone = "example.com"
		}, "the config puts example.org in zone example.org through provider files, not zone example.com through files"},
		{"a policy file anywhere", nil, func(t *testing.T, f *planfile.File, dir string) {
			f.Steps = append(f.Steps, planfile.Step{Kind: reconcile.StepPolicyFile, Target: filepath.Join(dir, "owned"), Action: reconcile.Create,
				Content: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"})
		}, "is not the config's policy.file or a policy.dir file"},
		{"another id", nil, func(t *testing.T, f *planfile.File, _ string) {
			c := changeAt(t, zoneOf(t, f, "example.org"), "_mta-sts.example.org.", "TXT")
			c.Want[0].Value = "v=STSv1; id=20240101"
		}, `TXT "v=STSv1; id=20240101" is not what the config asks for (the id of example.org's policy is`},
		{"another policy with its id", nil, func(t *testing.T, f *planfile.File, _ string) {
			f.Expected["example.org"] = planfile.Policy{Mode: string(enforce.Mode), MaxAge: enforce.MaxAge, MX: enforce.MX}
			c := changeAt(t, zoneOf(t, f, "example.org"), "_mta-sts.example.org.", "TXT")
			c.Want[0].Value = mtasts.STSRecord{ID: enforce.ID()}.String()
		}, "example.org: the plan's policy of that domain (mode enforce, max_age 31557600, mx evil.example) is not the config's (mode testing, max_age 604800, mx mail.example.com)"},
		{"another policy in policy.file", withPolicyFile, func(t *testing.T, f *planfile.File, _ string) {
			if len(f.Steps) != 1 {
				t.Fatalf("want one policy file step, have %+v", f.Steps)
			}
			f.Steps[0].Content = string(enforce.Render())
		}, "the policy it writes (mode enforce, max_age 31557600, mx evil.example) is not the config's"},
		{"the provider's settings left out", nil, func(t *testing.T, f *planfile.File, _ string) {
			delete(f.Config.Providers, "files")
		}, "zone example.org: the plan does not record what provider files was when planned: the file was edited"},
		{"a withheld id made a create", nil, func(t *testing.T, f *planfile.File, _ string) {
			z := zoneOf(t, f, "example.net")
			c := changeAt(t, z, "_mta-sts.example.net.", "TXT")
			c.Action, c.Reason = reconcile.Create, ""
			z.Seen = append(z.Seen, planfile.Name{Name: c.Name, Records: []planfile.Record{}})
			// and the conflict at mta-sts.example.net. gone from the file
			z.Changes = slices.DeleteFunc(z.Changes, func(c planfile.Change) bool { return c.Action == reconcile.Conflict })
		}, "zone example.net: the plan writes the id of example.net, but mta-sts.example.net. would hold A 192.0.2.7, not the CNAME to mail.example.com.: the id waits for the policy host"},
		{"a mailcow entry without mailcow", nil, func(t *testing.T, f *planfile.File, _ string) {
			f.Steps = append(f.Steps, planfile.Step{Kind: reconcile.StepMailcowPolicy, Target: "example.org", Action: reconcile.Update,
				Mailcow: &reconcile.MailcowSTS{Domain: "example.org", Mode: "none", MaxAge: 86400}})
		}, "mailcow policy of example.org: the config does not set mailcow.manage_policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quickstart(t)
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, cfg, dir)
			}
			plan := savedPlan(t, cfg)
			editPlan(t, plan, func(f *planfile.File) { tt.edit(t, f, dir) })
			before := zoneFiles(t, cfg)
			r := runCLI(t, nil, "apply", plan)
			if r.code != exitError || !strings.Contains(r.stderr, "nothing was written") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", r.code, exitError, r.stderr, tt.want)
			}
			if diff := cmp.Diff(before, zoneFiles(t, cfg)); diff != "" {
				t.Errorf("the refused apply wrote:\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, "owned")); err == nil {
				t.Error("the refused apply wrote the policy file")
			}
			if b, err := os.ReadFile(filepath.Join(dir, "policy.txt")); err == nil {
				t.Errorf("the refused apply wrote policy.file:\n%s", b)
			}
		})
	}
}

// TestPlanOutReplacesOnlyPlans: plan --out replaces an earlier plan file
// or an empty one, and refuses, before reading any zone, to replace
// anything else (a typo naming the config would have lost it).
func TestPlanOutReplacesOnlyPlans(t *testing.T) {
	cfg := quickstart(t)
	dir := t.TempDir()
	older := savedPlan(t, cfg)
	empty := filepath.Join(dir, "empty.plan")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{older, empty} {
		if r := runCLI(t, nil, "plan", "--config", cfg, "--out", out); r.code != 0 {
			t.Errorf("plan --out %s: exit %d\n%s", out, r.code, r.stderr)
		}
		if _, err := planfile.Load(out); err != nil {
			t.Errorf("plan --out %s did not save the plan: %v", out, err)
		}
	}
	zone := filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone")
	for _, out := range []string{cfg, zone} {
		before, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, "plan", "--config", cfg, "--out", out)
		if want := "it exists and is not a saved plan"; r.code != exitError || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Errorf("plan --out %s: exit %d, stdout %q, stderr %q; want exit 1, no plan, %q", out, r.code, r.stdout, r.stderr, want)
		}
		if after, _ := os.ReadFile(out); string(after) != string(before) {
			t.Errorf("plan --out %s replaced it", out)
		}
	}
}
