package mtasts

import (
	"slices"
	"strings"
	"testing"
)

func TestParseSTSRecord(t *testing.T) {
	id32 := strings.Repeat("a1", 16)
	tests := []struct {
		name         string
		txt          string
		want         STSRecord
		wantWarnings []string
		wantErr      string
	}{
		{name: "canonical", txt: "v=STSv1; id=20160831085700Z", want: STSRecord{ID: "20160831085700Z"}},
		{name: "mailcow spelling", txt: "v=STSv1;id=abc;", want: STSRecord{ID: "abc"}},
		{name: "tabs and spaces around delimiters", txt: "v=STSv1;\t id=abc \t; e=1\t ;\t", want: STSRecord{ID: "abc", Extensions: []Extension{{"e", "1"}}}},
		{name: "id of 32 characters", txt: "v=STSv1; id=" + id32, want: STSRecord{ID: id32}},
		{name: "extensions kept in order", txt: "v=STSv1; ext.b=2; id=abc; ext-a=x:y", want: STSRecord{ID: "abc", Extensions: []Extension{{"ext.b", "2"}, {"ext-a", "x:y"}}}},
		{name: "repeated extension kept", txt: "v=STSv1; id=abc; e=1; e=2", want: STSRecord{ID: "abc", Extensions: []Extension{{"e", "1"}, {"e", "2"}}}},
		{
			name:         "space before the first delimiter",
			txt:          "v=STSv1 ; id=abc",
			want:         STSRecord{ID: "abc"},
			wantWarnings: []string{"errata 6285"},
		},
		{name: "id of 33 characters", txt: "v=STSv1; id=" + id32 + "b", wantErr: "1 to 32 letters and digits"},
		{name: "id with hyphens", txt: "v=STSv1; id=2024-01-01", wantErr: `id "2024-01-01" contains '-'`},
		{name: "empty id", txt: "v=STSv1; id=", wantErr: `id ""`},
		{name: "missing id", txt: "v=STSv1; ext=1", wantErr: "no id field"},
		{name: "upper-case ID is an extension", txt: "v=STSv1; ID=abc", wantErr: "no id field"},
		{name: "two ids", txt: "v=STSv1; id=abc; id=abc", wantErr: "more than one id"},
		{name: "version case", txt: "v=stsv1; id=a", wantErr: "case-sensitive"},
		{name: "other version", txt: "v=STSv2; id=a", wantErr: `does not start with "v=STSv1"`},
		{name: "version only", txt: "v=STSv1", wantErr: "no fields"},
		{name: "version and delimiter only", txt: "v=STSv1;", wantErr: "no fields"},
		{name: "missing delimiter", txt: "v=STSv1 id=abc", wantErr: "expected ';'"},
		{name: "version glued to text", txt: "v=STSv1x; id=abc", wantErr: "expected ';'"},
		{name: "empty field", txt: "v=STSv1;; id=abc", wantErr: "empty field"},
		{name: "double trailing delimiter", txt: "v=STSv1; id=abc;;", wantErr: "empty field"},
		{name: "trailing whitespace without delimiter", txt: "v=STSv1; id=abc ", wantErr: "ends with whitespace"},
		{name: "leading whitespace", txt: " v=STSv1; id=abc", wantErr: "does not start"},
		{name: "space inside a field", txt: "v=STSv1; id = abc", wantErr: `field name "id "`},
		{name: "field without =", txt: "v=STSv1; id=abc; flag", wantErr: "has no '='"},
		{name: "extension value with =", txt: "v=STSv1; id=abc; e=a=b", wantErr: "'='"},
		{name: "empty extension value", txt: "v=STSv1; id=abc; e=", wantErr: "empty value"},
		{name: "extension name too long", txt: "v=STSv1; id=abc; " + strings.Repeat("e", 33) + "=1", wantErr: "longer than 32"},
		{name: "extension name starting with _", txt: "v=STSv1; id=abc; _e=1", wantErr: "must start with a letter or digit"},
		{name: "non-ASCII", txt: "v=STSv1; id=abc; e=ü", wantErr: "printable ASCII"},
		{name: "newline", txt: "v=STSv1; id=abc\n", wantErr: "printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := ParseSTSRecord(tt.txt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSTSRecord(%q) error = %v, want one containing %q", tt.txt, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSTSRecord(%q) error = %v", tt.txt, err)
			}
			if got.ID != tt.want.ID || !slices.Equal(got.Extensions, tt.want.Extensions) {
				t.Errorf("ParseSTSRecord(%q) = %+v, want %+v", tt.txt, got, tt.want)
			}
			assertWarnings(t, warnings, tt.wantWarnings)
		})
	}
}

func TestSTSRecordString(t *testing.T) {
	tests := []struct {
		r    STSRecord
		want string
	}{
		{STSRecord{ID: "abc"}, "v=STSv1; id=abc"},
		{STSRecord{ID: "abc", Extensions: []Extension{{"b", "2"}, {"a", "1"}}}, "v=STSv1; id=abc; b=2; a=1"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if err := tt.r.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", tt.r, err)
		}
	}
	for _, bad := range []STSRecord{
		{},
		{ID: "a-b"},
		{ID: "abc", Extensions: []Extension{{"id", "x"}}},
		{ID: "abc", Extensions: []Extension{{"e", "a;b"}}},
		{ID: "abc", Extensions: []Extension{{"", "x"}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
}

func TestIsRecord(t *testing.T) {
	tests := []struct {
		txt         string
		sts, tlsrpt bool
	}{
		{"v=STSv1; id=abc", true, false},
		{"v=STSv1", true, false},
		{"v=STSv1 ;id=1", true, false},
		{"v=STSv1\tid=1", true, false},
		{"v=STSv10; id=1", false, false},
		{"v=stsv1; id=1", false, false},
		{" v=STSv1; id=1", false, false},
		{"google-site-verification=abc", false, false},
		{"", false, false},
		{"v=TLSRPTv1; rua=mailto:a@example.com", false, true},
		{"v=TLSRPTv1", false, true},
		{"v=TLSRPTv1x", false, false},
		{"v=spf1 -all", false, false},
	}
	for _, tt := range tests {
		if got := IsSTSRecord(tt.txt); got != tt.sts {
			t.Errorf("IsSTSRecord(%q) = %v, want %v", tt.txt, got, tt.sts)
		}
		if got := IsTLSRPTRecord(tt.txt); got != tt.tlsrpt {
			t.Errorf("IsTLSRPTRecord(%q) = %v, want %v", tt.txt, got, tt.tlsrpt)
		}
	}
}

func TestParseTLSRPTRecord(t *testing.T) {
	tests := []struct {
		name         string
		txt          string
		want         TLSRPTRecord
		wantWarnings []string
		wantErr      string
	}{
		{name: "mailto", txt: "v=TLSRPTv1; rua=mailto:tls-reports@example.com", want: TLSRPTRecord{RUA: []string{"mailto:tls-reports@example.com"}}},
		{name: "https", txt: "v=TLSRPTv1;rua=https://r.example.com/tlsrpt;", want: TLSRPTRecord{RUA: []string{"https://r.example.com/tlsrpt"}}},
		{
			name: "two URIs with spaces around the comma",
			txt:  "v=TLSRPTv1; rua=mailto:a@example.com , \thttps://r.example.com/tlsrpt",
			want: TLSRPTRecord{RUA: []string{"mailto:a@example.com", "https://r.example.com/tlsrpt"}},
		},
		{name: "extension", txt: "v=TLSRPTv1; x=1; rua=mailto:a@example.com", want: TLSRPTRecord{RUA: []string{"mailto:a@example.com"}, Extensions: []Extension{{"x", "1"}}}},
		{
			name:         "space before the first delimiter",
			txt:          "v=TLSRPTv1 ; rua=mailto:a@example.com",
			want:         TLSRPTRecord{RUA: []string{"mailto:a@example.com"}},
			wantWarnings: []string{`begin with "v=TLSRPTv1;"`},
		},
		{name: "http", txt: "v=TLSRPTv1; rua=http://x", wantErr: "use mailto: or https:"},
		{name: "raw comma in address", txt: "v=TLSRPTv1; rua=mailto:a,b@x.example", wantErr: "exactly one address"},
		{name: "missing rua", txt: "v=TLSRPTv1; x=1", wantErr: "no rua field"},
		{name: "two rua fields", txt: "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", wantErr: "more than one rua"},
		{name: "empty rua", txt: "v=TLSRPTv1; rua=", wantErr: "empty"},
		{name: "empty URI in the list", txt: "v=TLSRPTv1; rua=mailto:a@example.com,", wantErr: "empty"},
		{name: "version case", txt: "v=tlsrptv1; rua=mailto:a@example.com", wantErr: "case-sensitive"},
		{name: "STS record", txt: "v=STSv1; id=abc", wantErr: `does not start with "v=TLSRPTv1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := ParseTLSRPTRecord(tt.txt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTLSRPTRecord(%q) error = %v, want one containing %q", tt.txt, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTLSRPTRecord(%q) error = %v", tt.txt, err)
			}
			if !slices.Equal(got.RUA, tt.want.RUA) || !slices.Equal(got.Extensions, tt.want.Extensions) {
				t.Errorf("ParseTLSRPTRecord(%q) = %+v, want %+v", tt.txt, got, tt.want)
			}
			assertWarnings(t, warnings, tt.wantWarnings)
		})
	}
}

func TestTLSRPTRecordString(t *testing.T) {
	r := TLSRPTRecord{RUA: []string{"mailto:a@example.com", "https://r.example.com/x"}, Extensions: []Extension{{"x", "1"}}}
	if got, want := r.String(), "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x; x=1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	for _, bad := range []TLSRPTRecord{
		{},
		{RUA: []string{"http://x.example"}},
		{RUA: []string{"mailto:a@example.com"}, Extensions: []Extension{{"rua", "x"}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
}

func TestValidateRUA(t *testing.T) {
	tests := []struct {
		uri     string
		wantErr string // substring; empty means valid
	}{
		{"mailto:tls-reports@example.com", ""},
		{"mailto:tls%2Creports@example.com", ""},
		{"MAILTO:tls@example.com", ""},
		{"mailto:tls@example.com?subject=tlsrpt", ""},
		{"https://r.example.com/tlsrpt", ""},
		{"HTTPS://r.example.com:8443/tlsrpt?x=1", ""},
		{"https://[2001:db8::1]/tlsrpt", ""},
		{"", "empty"},
		{"http://x", "use mailto: or https:"},
		{"ftp://x.example/", "use mailto: or https:"},
		{"tls@example.com", "no scheme"},
		{"mailto:a,b@x.example", "raw ',': percent-encode it as %2C"},
		{"mailto:a!b@example.com", "raw '!': percent-encode it as %21"},
		{"https://r.example.com/a;b", "raw ';': percent-encode it as %3B"},
		{"mailto:a b@example.com", "percent-encode spaces"},
		{"mailto:a%zz@example.com", "two hex digits"},
		{"mailto:a%2@example.com", "two hex digits"},
		{"mailto:example.com", "one '@'"},
		{"mailto:a@b@example.com", "one '@'"},
		{"mailto:@example.com", "empty local part"},
		{"mailto:a@", "address domain"},
		{"mailto:a@localhost", "at least 2 labels"},
		{"mailto://a@example.com", "no \"//\""},
		{"https:r.example.com/x", "https://host/path"},
		{"https:///x", "no host"},
		{"https://r.example.com:bad/x", "does not parse"},
	}
	for _, tt := range tests {
		err := ValidateRUA(tt.uri)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateRUA(%q) = %v, want nil", tt.uri, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateRUA(%q) = %v, want an error containing %q", tt.uri, err, tt.wantErr)
		}
	}
}

func TestCanonicalTXT(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"v=STSv1;id=abc;", "v=STSv1; id=abc", true},
		{"v=STSv1; id=abc", "v=STSv1;\tid=abc ;", true},
		{"v=STSv1; id=abc; e=1", "v=STSv1;e=1;id=abc", true},
		{"v=STSv1; id=abc", "v=STSv1; id=abd", false},
		{"v=STSv1; id=abc", "v=STSv1; id=ABC", false},
		{"v=STSv1; id=abc", "v=STSv1; id=abc; e=1", false},
		{"v=STSv1; id=abc; a=1; b=2", "v=STSv1; id=abc; b=2; a=1", false},
		// Senders discard the spaced form (errata 6285), so it must be replaced.
		{"v=STSv1 ; id=abc", "v=STSv1; id=abc", false},
		{"v=STSv1 ; id=abc", "v=STSv1  ;id=abc", true},
		{"v=TLSRPTv1;rua=mailto:a@b.c", "v=TLSRPTv1; rua=mailto:a@b.c", true},
		{"v=TLSRPTv1; rua=mailto:a@b.c , https://r.example.com/", "v=TLSRPTv1;rua=mailto:a@b.c,https://r.example.com/;", true},
		{"v=TLSRPTv1; rua=mailto:a@b.c,https://r.example.com/", "v=TLSRPTv1; rua=https://r.example.com/,mailto:a@b.c", false},
		{"v=TLSRPTv1; rua=mailto:a@b.c", "v=TLSRPTv1; rua=mailto:x@b.c", false},
		{"v=TLSRPTv1; rua=mailto:a@b.c", "v=TLSRPTv1; rua=mailto:a@b.c; x=1", false},
		{"v=STSv1; id=abc", "v=TLSRPTv1; rua=mailto:a@b.c", false},
		{"v=TLSRPTv1; rua=mailto:a@b.c", "v=STSv1; id=abc", false},
		{"v=STSv1; id=abc", "v=STSv1; id=abc; id=abc", false},
		{"v=STSv1; id=a-b", "v=STSv1; id=a-b", true},
		{"v=STSv1; id=a-b", "v=STSv1;id=a-b", false},
		{"v=spf1 -all", "v=spf1 -all", true},
		{"v=spf1 -all", "v=spf1  -all", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := equivalentTXT(tt.a, tt.b); got != tt.want {
			t.Errorf("equivalentTXT(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := equivalentTXT(tt.b, tt.a); got != tt.want {
			t.Errorf("equivalentTXT(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func FuzzParseSTSRecord(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=abc", "v=STSv1;id=abc;", "v=STSv1 ; id=1; e.x=y", "v=STSv1; id=2024-01-01", "v=STSv1;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		r, _, err := ParseSTSRecord(txt)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseSTSRecord(%q) = %+v, which fails Validate: %v", txt, r, err)
		}
		s := r.String()
		again, warnings, err := ParseSTSRecord(s)
		if err != nil {
			t.Fatalf("ParseSTSRecord(String() = %q) error = %v", s, err)
		}
		if len(warnings) != 0 {
			t.Fatalf("ParseSTSRecord(String() = %q) warns %q", s, warnings)
		}
		if again.ID != r.ID || !slices.Equal(again.Extensions, r.Extensions) || again.String() != s {
			t.Fatalf("ParseSTSRecord(%q) = %+v, want %+v", s, again, r)
		}
		if !equivalentTXT(s, txt) != (txt != s && !strings.HasPrefix(txt, stsVersion+";")) {
			t.Fatalf("equivalentTXT(%q, %q) disagrees with the parse", s, txt)
		}
	})
}

func FuzzParseTLSRPTRecord(f *testing.F) {
	for _, s := range []string{"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:a@b.c , https://r.example.com/x;", "v=TLSRPTv1 ; x=1; rua=mailto:t%2Cx@example.com", "v=TLSRPTv1; rua=http://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		r, _, err := ParseTLSRPTRecord(txt)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseTLSRPTRecord(%q) = %+v, which fails Validate: %v", txt, r, err)
		}
		s := r.String()
		again, warnings, err := ParseTLSRPTRecord(s)
		if err != nil {
			t.Fatalf("ParseTLSRPTRecord(String() = %q) error = %v", s, err)
		}
		if len(warnings) != 0 {
			t.Fatalf("ParseTLSRPTRecord(String() = %q) warns %q", s, warnings)
		}
		if !slices.Equal(again.RUA, r.RUA) || !slices.Equal(again.Extensions, r.Extensions) || again.String() != s {
			t.Fatalf("ParseTLSRPTRecord(%q) = %+v, want %+v", s, again, r)
		}
		if !equivalentTXT(s, txt) != (txt != s && !strings.HasPrefix(txt, tlsrptVersion+";")) {
			t.Fatalf("equivalentTXT(%q, %q) disagrees with the parse", s, txt)
		}
	})
}

func equivalentTXT(a, b string) bool { return CanonicalTXT(a) == CanonicalTXT(b) }
