package mtasts

import (
	"strings"
	"testing"
)

func TestValidateMXPattern(t *testing.T) {
	tests := []struct {
		pattern string
		wantErr string // substring; empty means valid
	}{
		{"mail.example.com", ""},
		{"*.example.com", ""},
		{"MAIL.Example.COM", ""},
		{"xn--bcher-kva.example", ""},
		{"mx-1.example.co.uk", ""},
		{"1mail.example.com", ""},
		{strings.Repeat("a", 63) + ".example.com", ""},
		{strings.Repeat("a", 64) + ".example.com", "more than 63"},
		{strings.Repeat(strings.Repeat("a", 61)+".", 4) + "com", ""}, // 248 characters
		{strings.Repeat(strings.Repeat("a", 62)+".", 4) + "com", "more than 253"},
		{"", "empty"},
		{"mail.example.com.", "remove the trailing dot"},
		{"*.example.com.", "remove the trailing dot"},
		{"mail.*.com", "wildcard is allowed only"},
		{"*mail.example.com", "wildcard is allowed only"},
		{"*.*.example.com", "wildcard is allowed only"},
		{"*", "wildcard is allowed only"},
		{"*.com", "at least 2 labels"},
		{"localhost", "at least 2 labels"},
		{"192.0.2.1", "IP address"},
		{"2001:db8::1", "IP address"},
		{"[192.0.2.1]", "IP address"},
		{"mail.example.123", "all digits"},
		{"mail_1.example.com", "underscore"},
		{"_mta-sts.example.com", "underscore"},
		{"-mail.example.com", "hyphen"},
		{"mail-.example.com", "hyphen"},
		{"mail..example.com", "empty label"},
		{".example.com", "empty label"},
		{"bücher.example", "A-labels"},
		{"mail example.com", `contains ' '`},
		{"mail.example.com:25", `contains ':'`},
	}
	for _, tt := range tests {
		err := ValidateMXPattern(tt.pattern)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateMXPattern(%q) = %v, want nil", tt.pattern, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateMXPattern(%q) = %v, want an error containing %q", tt.pattern, err, tt.wantErr)
		}
	}
}

func TestMatchMX(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"mail.example.com", "mail.example.com", true},
		{"mail.example.com", "MAIL.Example.com", true},
		{"mail.example.com", "mail.example.com.", true},
		{"MAIL.example.com", "mail.example.com", true},
		{"mail.example.com", "mail2.example.com", false},
		{"mail.example.com", "example.com", false},
		{"mail.example.com", "a.mail.example.com", false},
		{"*.example.com", "mail.example.com", true},
		{"*.example.com", "MAIL.EXAMPLE.COM.", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "example.com.", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "*.example.com", false},
		{"*.example.com", "mail.example.org", false},
		{"*.example.com", "", false},
		{"", "", false},
		{"mail.example.com", "", false},
	}
	for _, tt := range tests {
		if got := MatchMX(tt.pattern, tt.host); got != tt.want {
			t.Errorf("MatchMX(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}
