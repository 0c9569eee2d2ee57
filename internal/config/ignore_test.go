package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseIgnore(t *testing.T) {
	good := base + `ignore:
  - name: mta-sts.Example.COM.
    type: a
    reason: legacy web server, policy served by the CDN
  - name: _MTA-STS.example.com
    reason: "  a second v=STSv1 TXT kept by the old tool until May  "
`
	cfg, err := Parse([]byte(good), "cfg.yaml", opts(defaultEnv(), nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []Ignore{
		{Name: "mta-sts.example.com", Type: "A", Reason: "legacy web server, policy served by the CDN", Line: 12},
		{Name: "_mta-sts.example.com", Reason: "a second v=STSv1 TXT kept by the old tool until May", Line: 15},
	}
	if diff := cmp.Diff(want, cfg.Ignore); diff != "" {
		t.Errorf("Ignore (-want +got):\n%s", diff)
	}

	bad := []struct {
		name, yaml string
		want       []string
	}{
		{"not a list", "ignore: mta-sts.example.com\n", []string{"cfg.yaml:11: ignore: must be a list of {name:, type:, reason:} entries"}},
		{"entry not a mapping", "ignore:\n  - mta-sts.example.com\n", []string{"cfg.yaml:12: ignore[0]: must be a mapping"}},
		{"no reason", "ignore:\n  - name: mta-sts.example.com\n", []string{"cfg.yaml:12: ignore[0]: reason is required"}},
		{"empty reason", "ignore:\n  - name: mta-sts.example.com\n    reason: \"\"\n", []string{"ignore[0].reason: is empty"}},
		{"no name", "ignore:\n  - reason: x\n", []string{"cfg.yaml:12: ignore[0]: name is required"}},
		{"bad name", "ignore:\n  - name: mta-sts..example.com\n    reason: x\n", []string{"cfg.yaml:12: ignore[0].name:", "empty label"}},
		{"service label last", "ignore:\n  - name: _mta-sts\n    reason: x\n", []string{"a service label must come before a domain name"}},
		{"bad type", "ignore:\n  - name: mta-sts.example.com\n    type: \"A record\"\n    reason: x\n", []string{`ignore[0].type: "A record" is not a DNS record type`}},
		{"unknown key", "ignore:\n  - name: mta-sts.example.com\n    reason: x\n    domain: example.com\n", []string{`unknown key "domain" (valid: name, type, reason)`}},
		{"twice", "ignore:\n  - {name: mta-sts.example.com, type: A, reason: x}\n  - {name: MTA-STS.example.com., type: a, reason: y}\n",
			[]string{"cfg.yaml:13: ignore[1]: mta-sts.example.com A is listed twice (first at line 12)"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base+tt.yaml), "cfg.yaml", opts(defaultEnv(), nil))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
