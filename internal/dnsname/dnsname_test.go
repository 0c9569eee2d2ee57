package dnsname

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	long64 := strings.Repeat("a", 64)
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "example.com", want: "example.com"},
		{in: "EXAMPLE.Com.", want: "example.com"},
		{in: "Bücher.example", want: "xn--bcher-kva.example"},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{in: "XN--BCHER-KVA.example", want: "xn--bcher-kva.example"},
		{in: "faß.de", want: "xn--fa-hia.de"},
		{in: "bücher。example", want: "xn--bcher-kva.example"},
		{in: "eu.mail.example.com", want: "eu.mail.example.com"},
		{in: "localhost", want: "localhost"},
		{in: "a-b.example", want: "a-b.example"},
		{in: long63 + ".example", want: long63 + ".example"},
		{in: "", wantErr: "empty name"},
		{in: ".", wantErr: "the root is not a domain name"},
		{in: "a..b", wantErr: "empty label"},
		{in: ".example.com", wantErr: "empty label"},
		{in: "example.com..", wantErr: "empty label"},
		{in: "ä..com", wantErr: "empty label"},
		{in: long64 + ".example", wantErr: "label too long"},
		{in: strings.Repeat("abcdefghi.", 26) + "com", wantErr: "name too long"},
		{in: "_dmarc.example.com", wantErr: "underscore not allowed in a mail domain"},
		{in: "*.example.com", wantErr: "wildcard"},
		{in: "-mail.example.com", wantErr: "starts or ends with a hyphen"},
		{in: "mail-.example.com", wantErr: "starts or ends with a hyphen"},
		{in: "exa mple.com", wantErr: "character not allowed in a host name (U+0020)"},
		{in: " example.com", wantErr: "whitespace"},
		{in: "postmaster@example.com", wantErr: "not a mail address"},
		{in: "https://example.com", wantErr: "not a URL"},
		{in: "192.0.2.1", wantErr: "IP address"},
		{in: "xn--zz.com", wantErr: "invalid label"},
		{in: "ex/ample.com", wantErr: "character not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Normalize(%q) = %q, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Normalize(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeErrorQuotesName(t *testing.T) {
	_, err := Normalize("a..b")
	if err == nil || !strings.Contains(err.Error(), `"a..b"`) {
		t.Fatalf("error %v does not quote the name", err)
	}
}

func TestFQDN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com."},
		{"Example.COM.", "example.com."},
		{"example.com...", "example.com."},
		{"", "."},
		{".", "."},
	}
	for _, tt := range tests {
		if got := FQDN(tt.in); got != tt.want {
			t.Errorf("FQDN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsSubdomain(t *testing.T) {
	tests := []struct {
		child, parent string
		want          bool
	}{
		{"example.com", "example.com", true},
		{"Example.com.", "example.COM", true},
		{"eu.example.com", "example.com", true},
		{"a.b.example.com.", "example.com.", true},
		{"example.com", "eu.example.com", false},
		{"badexample.com", "example.com", false},
		{"example.com.evil", "example.com", false},
		{"example.org", "example.com", false},
		{"example.com", "", true},
		{"example.com", ".", true},
		{"", "example.com", false},
	}
	for _, tt := range tests {
		if got := IsSubdomain(tt.child, tt.parent); got != tt.want {
			t.Errorf("IsSubdomain(%q, %q) = %v, want %v", tt.child, tt.parent, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example", "a..b", "_x.y", "xn--bcher-kva.example", "。", "a.b.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Normalize(in)
		if err != nil {
			return
		}
		// The canonical form is a fixed point and passes the structural rules.
		again, err := Normalize(got)
		if err != nil {
			t.Fatalf("Normalize(%q) = %q, which does not normalise again: %v", in, got, err)
		}
		if again != got {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", in, got, again)
		}
		if got != strings.ToLower(got) || strings.HasSuffix(got, ".") || len(got) > maxNameLen {
			t.Fatalf("Normalize(%q) = %q is not canonical", in, got)
		}
		if !IsSubdomain(got, got) || FQDN(got) != got+"." {
			t.Fatalf("FQDN/IsSubdomain disagree with %q", got)
		}
	})
}
