package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// retireNow is the clock of the retire: tests, so that "in the future"
// never depends on the day the tests run.
var retireNow = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

func retireOpts() Options {
	o := opts(defaultEnv(), defaultFiles())
	o.Now = func() time.Time { return retireNow }
	return o
}

func TestRetire(t *testing.T) {
	text := base + "retire:\n  Example.ORG: 2026-11-20\n  example.net: 2026-11-21T09:30:00+02:00\n  old.example.com: 2026-11-22\n"
	cfg, err := Parse([]byte(text), cfgPath, retireOpts())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []Retirement{
		{Domain: "example.net", Since: time.Date(2026, 11, 21, 7, 30, 0, 0, time.UTC), Line: 13},
		{Domain: "example.org", Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Line: 12},
		{Domain: "old.example.com", Since: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Line: 14},
	}
	if diff := cmp.Diff(want, cfg.Retire, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("Retire (-want +got):\n%s", diff)
	}
	if r, ok := cfg.Retiring("example.org"); !ok || r.Line != 12 {
		t.Errorf("Retiring(example.org) = %+v, %v", r, ok)
	}
	if _, ok := cfg.Retiring("example.com"); ok {
		t.Errorf("Retiring(example.com): a kept domain is not retiring")
	}
}

// TestRetireOnly: the last domain may be retired; retire: alone is enough.
func TestRetireOnly(t *testing.T) {
	text := strings.Replace(base, "domains: [example.com]\n", "retire:\n  example.com: 2026-11-01\n", 1)
	cfg, err := Parse([]byte(text), cfgPath, retireOpts())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(cfg.Domains) != 0 || len(cfg.Retire) != 1 {
		t.Errorf("Domains %v, Retire %v", cfg.Domains, cfg.Retire)
	}
}

func TestRetireErrors(t *testing.T) {
	zoned := strings.Replace(base, "provider: cf\n", "zones:\n  example.com: cf\n", 1)
	delegated := strings.Replace(base, "domains: [example.com]", "domains: [example.com, example.net]\nlayout: delegated\nprimary: example.com", 1)
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"future date", base + "retire:\n  example.org: 2026-11-23\n", []string{
			"cfg.yaml:12: retire.example.org: 2026-11-23 is in the future; retirement begins on the day apply first publishes mode none: give today's date (2026-11-22)"}},
		{"future time today", base + "retire:\n  example.org: 2026-11-22T16:00:00Z\n", []string{
			"cfg.yaml:12: retire.example.org: 2026-11-22T16:00:00Z is in the future"}},
		{"not a date", base + "retire:\n  example.org: last week\n", []string{
			`cfg.yaml:12: retire.example.org: "last week" is not a date; write YYYY-MM-DD or an RFC 3339 time`}},
		{"impossible date", base + "retire:\n  example.org: 2026-02-30\n", []string{
			`cfg.yaml:12: retire.example.org: "2026-02-30" is not a date`}},
		{"no date", base + "retire:\n  example.org:\n", []string{
			"cfg.yaml:12: retire.example.org: must be the date retirement began, YYYY-MM-DD or RFC 3339 (e.g. 2026-11-20), got nothing"}},
		{"a list", base + "retire: [example.org]\n", []string{"cfg.yaml:11: retire: must be a mapping of keys, got a list"}},
		{"bad domain", base + "retire:\n  a..b: 2026-11-20\n", []string{`cfg.yaml:12: retire: domain name "a..b": empty label`}},
		{"twice", base + "retire:\n  example.org: 2026-11-20\n  Example.org.: 2026-11-21\n", []string{
			"cfg.yaml:13: retire: example.org is listed twice (first at line 12); keep one"}},
		{"kept and retired", base + "retire:\n  example.com: 2026-11-20\n", []string{
			"cfg.yaml:12: retire: example.com is also in domains: (line 5), which keeps it; remove it from domains: to retire it, or from retire: to keep it"}},
		{"primary", delegated + "retire:\n  example.com: 2026-11-20\n", []string{
			"retire: example.com is the primary of the delegated layout"}},
		{"no zone", zoned + "retire:\n  example.org: 2026-11-20\n", []string{
			"cfg.yaml:13: retire: example.org is in no configured zone; add a zones: entry"}},
		{"file and dir", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  file: /srv/mta-sts.txt\n  dir: /srv/mta-sts\n", 1), []string{
			"cfg.yaml:5: policy: file and dir exclude each other"}},
		{"dir empty", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  dir: \"\"\n", 1), []string{
			"cfg.yaml:4: policy.dir: is empty; give a directory or remove the key"}},
		{"manage_policy and dir", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  dir: /srv/mta-sts\n", 1) +
			"mailcow:\n  url: https://mail.example.com\n  api_key: k\n  manage_policy: true\n", []string{
			"cfg.yaml:1: mailcow.manage_policy: true and policy.dir exclude each other"}},
		// mailcow's add route refuses more than 365 days (its edit route
		// takes a year): with manage_policy a new domain must never fail alone.
		{"mailcow add limit", strings.Replace(base, "max_age: 86400", "max_age: 31557600", 1) +
			"mailcow:\n  url: https://mail.example.com\n  api_key: k\n  manage_policy: true\n", []string{
			"cfg.yaml:3: policy.max_age: 31557600 is more than mailcow accepts with manage_policy (31536000, 365 days); use at most 31536000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), cfgPath, retireOpts())
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %q; config: %+v", tt.want, cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q; got:\n%v", w, err)
				}
			}
		})
	}
}

// TestMailcowAddLimitOnlyWithManagePolicy: without manage_policy mailcow
// never sees the policy, so a year is fine.
func TestMailcowAddLimitOnlyWithManagePolicy(t *testing.T) {
	for _, maxAge := range []string{"31536000", "31557600"} {
		text := strings.Replace(base, "max_age: 86400", "max_age: "+maxAge, 1) + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n"
		if _, err := Parse([]byte(text), cfgPath, retireOpts()); err != nil {
			t.Errorf("max_age %s without manage_policy: %v", maxAge, err)
		}
	}
	text := strings.Replace(base, "max_age: 86400", "max_age: 31536000", 1) + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n  manage_policy: true\n"
	if _, err := Parse([]byte(text), cfgPath, retireOpts()); err != nil {
		t.Errorf("max_age 31536000 with manage_policy: %v", err)
	}
}
