package mtasts

import (
	"slices"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		want         Policy
		wantWarnings []string // substrings, one per expected warning
		wantErr      string   // substring; empty means success
	}{
		{
			name: "CRLF",
			body: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n",
			want: Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
		},
		{
			name: "LF",
			body: "version: STSv1\nmode: testing\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n",
			want: Policy{Mode: ModeTesting, MaxAge: 86400, MX: []string{"mail.example.com", "*.example.net"}},
		},
		{
			name: "no final terminator",
			body: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800",
			want: Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
		},
		{
			name: "mixed terminators and whitespace around values",
			body: "version:STSv1\nmode:\t enforce \t\r\nmx:   mail.example.com\nmax_age: 604800\t",
			want: Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
		},
		{
			name: "fields in any order",
			body: "max_age: 604800\nmx: mail.example.com\nmode: enforce\nversion: STSv1\n",
			want: Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
		},
		{
			name: "mode none needs no mx",
			body: "version: STSv1\nmode: none\nmax_age: 86400\n",
			want: Policy{Mode: ModeNone, MaxAge: 86400},
		},
		{
			name:         "unknown field ignored",
			body:         "version: STSv1\nmode: enforce\nfoo: bar baz\nmx: mail.example.com\nmax_age: 604800\n",
			want:         Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
			wantWarnings: []string{`line 3: unknown field "foo" ignored`},
		},
		{
			name:         "repeated mode keeps first",
			body:         "version: STSv1\nmode: testing\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n",
			want:         Policy{Mode: ModeTesting, MaxAge: 604800, MX: []string{"mail.example.com"}},
			wantWarnings: []string{`line 3: mode appears again; keeping the first value "testing"`},
		},
		{
			name:         "repeated version with a bad value keeps first",
			body:         "version: STSv1\nversion: STSv2\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n",
			want:         Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
			wantWarnings: []string{"line 2: version appears again"},
		},
		{
			name:         "max_age at the one-year limit",
			body:         "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 31557600\n",
			want:         Policy{Mode: ModeEnforce, MaxAge: 31557600, MX: []string{"mail.example.com"}},
			wantWarnings: nil,
		},
		{
			name:         "short max_age warns",
			body:         "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 300\n",
			want:         Policy{Mode: ModeTesting, MaxAge: 300, MX: []string{"mail.example.com"}},
			wantWarnings: []string{"max_age 300 is less than one day"},
		},
		{
			name:         "duplicate mx warns",
			body:         "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: MAIL.example.com\nmax_age: 604800\n",
			want:         Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "MAIL.example.com"}},
			wantWarnings: []string{`line 4: mx "MAIL.example.com" is listed more than once`},
		},
		{
			name:         "field names are case-sensitive",
			body:         "version: STSv1\nmode: enforce\nMX: other.example.com\nmx: mail.example.com\nmax_age: 604800\n",
			want:         Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
			wantWarnings: []string{`unknown field "MX" ignored (field names are case-sensitive: did you mean "mx"?)`},
		},
		{name: "max_age over a year", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 31557601\n", wantErr: "max_age 31557601 is more than 31557600"},
		{name: "max_age eleven digits", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 00000086400\n", wantErr: `max_age "00000086400" is not valid`},
		{name: "max_age negative", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: -1\n", wantErr: `max_age "-1" is not valid`},
		{name: "max_age empty", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age:\n", wantErr: `max_age "" is not valid`},
		{name: "bare CR", body: "version: STSv1\rmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "line 1 contains a bare CR"},
		{name: "bare CR at the end", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\r", wantErr: "line 4 contains a bare CR"},
		{name: "CR CR LF", body: "version: STSv1\r\r\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "line 1 contains a bare CR"},
		{name: "leading space", body: "version: STSv1\n mode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "line 2: starts with whitespace"},
		{name: "leading tab", body: "\tversion: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "line 1: starts with whitespace"},
		{name: "blank line", body: "version: STSv1\n\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "line 2 is blank"},
		{name: "trailing blank line", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n\n", wantErr: "line 5 is blank"},
		{name: "trailing blank CRLF line", body: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n\r\n", wantErr: "line 5 is blank"},
		{name: "empty", body: "", wantErr: "policy is empty"},
		{name: "only a newline", body: "\n", wantErr: "line 1 is blank"},
		{name: "BOM", body: "\uFEFFversion: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "byte order mark"},
		{name: "no colon", body: "version STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "has no ':'"},
		{name: "space before colon", body: "version: STSv1\nmode : enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: `field name "mode "`},
		{name: "comment line", body: "# policy\nversion: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "policy line 1: \"# policy\" has no ':'"},
		{name: "missing version", body: "mode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "no version field"},
		{name: "wrong version", body: "version: STSv2\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: `version "STSv2" is not valid`},
		{name: "version case", body: "version: stsv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: `version "stsv1"`},
		{name: "missing mode", body: "version: STSv1\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "no mode field"},
		{name: "mode upper case", body: "version: STSv1\nmode: Enforce\nmx: mail.example.com\nmax_age: 604800\n", wantErr: `mode "Enforce" is not valid`},
		{name: "mode with trailing word", body: "version: STSv1\nmode: enforce now\nmx: mail.example.com\nmax_age: 604800\n", wantErr: `mode "enforce now"`},
		{name: "missing max_age", body: "version: STSv1\nmode: enforce\nmx: mail.example.com\n", wantErr: "no max_age field"},
		{name: "missing mx", body: "version: STSv1\nmode: testing\nmax_age: 604800\n", wantErr: "no mx field"},
		{name: "mx trailing dot", body: "version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 604800\n", wantErr: "remove the trailing dot"},
		{name: "mx wildcard in the middle", body: "version: STSv1\nmode: enforce\nmx: mail.*.com\nmax_age: 604800\n", wantErr: `line 3: mx pattern "mail.*.com"`},
		{name: "control character in value", body: "version: STSv1\nmode: enforce\nfoo: a\x00b\nmx: mail.example.com\nmax_age: 604800\n", wantErr: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := ParsePolicy([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePolicy() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePolicy() error = %v", err)
			}
			if got.Mode != tt.want.Mode || got.MaxAge != tt.want.MaxAge || !slices.Equal(got.MX, tt.want.MX) {
				t.Errorf("ParsePolicy() = %+v, want %+v", got, tt.want)
			}
			assertWarnings(t, warnings, tt.wantWarnings)
		})
	}
}

func assertWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("warnings = %q, want %d matching %q", got, len(want), want)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		wantErr string
	}{
		{name: "enforce", policy: Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "*.example.net"}}},
		{name: "none without mx", policy: Policy{Mode: ModeNone, MaxAge: 0}},
		{name: "max_age one year", policy: Policy{Mode: ModeTesting, MaxAge: MaxMaxAge, MX: []string{"mail.example.com"}}},
		{name: "upper-case mx is still a valid name", policy: Policy{Mode: ModeTesting, MaxAge: 1, MX: []string{"Mail.Example.COM"}}},
		{name: "max_age over one year", policy: Policy{Mode: ModeTesting, MaxAge: MaxMaxAge + 1, MX: []string{"mail.example.com"}}, wantErr: "max_age 31557601"},
		{name: "negative max_age", policy: Policy{Mode: ModeTesting, MaxAge: -1, MX: []string{"mail.example.com"}}, wantErr: "max_age -1"},
		{name: "empty mode", policy: Policy{MaxAge: 1, MX: []string{"mail.example.com"}}, wantErr: `mode ""`},
		{name: "bad mode", policy: Policy{Mode: "ENFORCE", MaxAge: 1, MX: []string{"mail.example.com"}}, wantErr: `mode "ENFORCE"`},
		{name: "no mx", policy: Policy{Mode: ModeEnforce, MaxAge: 1}, wantErr: "mx is empty"},
		{name: "bad mx", policy: Policy{Mode: ModeEnforce, MaxAge: 1, MX: []string{"mail.example.com."}}, wantErr: `mx: mx pattern "mail.example.com." ends with a dot`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPolicyRender(t *testing.T) {
	p := Policy{Mode: ModeTesting, MaxAge: 604800, MX: []string{"b.example.com", "a.example.com"}}
	want := "version: STSv1\r\nmode: testing\r\nmx: b.example.com\r\nmx: a.example.com\r\nmax_age: 604800\r\n"
	if got := string(p.Render()); got != want {
		t.Errorf("Render() = %q, want %q", got, want)
	}
	none := Policy{Mode: ModeNone, MaxAge: 86400}
	if got, want := string(none.Render()), "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n"; got != want {
		t.Errorf("Render() = %q, want %q", got, want)
	}
}

func TestPolicyRenderRoundTrip(t *testing.T) {
	policies := []Policy{
		{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}},
		{Mode: ModeTesting, MaxAge: MaxMaxAge, MX: []string{"*.example.net", "mx1.example.org", "xn--bcher-kva.example"}},
		{Mode: ModeNone, MaxAge: 0},
		{Mode: ModeNone, MaxAge: 86400, MX: []string{"mail.example.com"}},
	}
	for _, p := range policies {
		got, _, err := ParsePolicy(p.Render())
		if err != nil {
			t.Fatalf("ParsePolicy(Render(%+v)) error = %v", p, err)
		}
		if !got.Equal(p) || !slices.Equal(got.MX, p.MX) {
			t.Errorf("ParsePolicy(Render(%+v)) = %+v", p, got)
		}
	}
}

func TestPolicyNormalize(t *testing.T) {
	p := Policy{Mode: ModeEnforce, MaxAge: 1, MX: []string{"B.example.com", "a.example.com", "b.EXAMPLE.com"}}
	got := p.Normalize()
	if want := []string{"a.example.com", "b.example.com"}; !slices.Equal(got.MX, want) {
		t.Errorf("Normalize().MX = %q, want %q", got.MX, want)
	}
	if p.MX[0] != "B.example.com" {
		t.Errorf("Normalize modified its receiver: %q", p.MX)
	}
	if got := (Policy{Mode: ModeNone}).Normalize(); got.MX != nil {
		t.Errorf("Normalize of no mx = %q, want nil", got.MX)
	}
}

func TestPolicyID(t *testing.T) {
	base := Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "*.mx.example.net"}}
	// Pinned once: printf 'version: STSv1\r\nmode: enforce\r\nmx: *.mx.example.net\r\nmx: mail.example.com\r\nmax_age: 604800\r\n' | sha256sum | cut -c1-20
	const golden = "baab407e33a2485a9e0f"
	if got := base.ID(); got != golden {
		t.Fatalf("ID() = %q, want the pinned %q", got, golden)
	}
	if err := ValidateID(base.ID()); err != nil {
		t.Errorf("ID() does not fit the record grammar: %v", err)
	}

	same := []struct {
		name string
		p    Policy
	}{
		{"reordered mx", Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"*.mx.example.net", "mail.example.com"}}},
		{"mx case", Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"MAIL.Example.com", "*.MX.example.NET"}}},
		{"duplicate mx", Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "*.mx.example.net", "mail.example.com"}}},
	}
	for _, tt := range same {
		if got := tt.p.ID(); got != golden {
			t.Errorf("%s: ID() = %q, want %q", tt.name, got, golden)
		}
		if !tt.p.Equal(base) {
			t.Errorf("%s: Equal() = false, want true", tt.name)
		}
	}

	edits := []struct {
		name string
		p    Policy
	}{
		{"mode", Policy{Mode: ModeTesting, MaxAge: 604800, MX: []string{"mail.example.com", "*.mx.example.net"}}},
		{"max_age", Policy{Mode: ModeEnforce, MaxAge: 604801, MX: []string{"mail.example.com", "*.mx.example.net"}}},
		{"mx removed", Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}},
		{"mx added", Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com", "*.mx.example.net", "backup.example.com"}}},
		{"mx changed", Policy{Mode: ModeEnforce, MaxAge: 604800, MX: []string{"mail2.example.com", "*.mx.example.net"}}},
	}
	seen := map[string]string{golden: "base"}
	for _, tt := range edits {
		id := tt.p.ID()
		if prev, ok := seen[id]; ok {
			t.Errorf("%s: ID() = %q, same as %s", tt.name, id, prev)
		}
		seen[id] = tt.name
		if tt.p.Equal(base) {
			t.Errorf("%s: Equal() = true, want false", tt.name)
		}
	}
}

func TestPolicyCovers(t *testing.T) {
	p := Policy{Mode: ModeEnforce, MaxAge: 1, MX: []string{"mail.example.com", "*.mx.example.net"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.example.com.", true},
		{"a.mx.example.net", true},
		{"mx.example.net", false},
		{"a.b.mx.example.net", false},
		{"other.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.Covers(tt.host); got != tt.want {
			t.Errorf("Covers(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: testing\nmx: *.example.net\nmx: MX.example.org\nmax_age: 0604800"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 86400\nfoo: bar\nmode: enforce\n"))
	f.Add([]byte("version: STSv1\rmode: enforce\n"))
	f.Add([]byte(" version: STSv1\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, _, err := ParsePolicy(body)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParsePolicy(%q) = %+v, which fails Validate: %v", body, p, err)
		}
		again, _, err := ParsePolicy(p.Render())
		if err != nil {
			t.Fatalf("ParsePolicy(Render(%+v)) error = %v", p, err)
		}
		if !again.Equal(p) {
			t.Fatalf("ParsePolicy(Render(%+v)) = %+v, not Equal", p, again)
		}
		if again.ID() != p.ID() {
			t.Fatalf("ID changed on round trip: %q != %q", again.ID(), p.ID())
		}
	})
}
