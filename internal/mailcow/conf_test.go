package mailcow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseConf(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Conf
		wantErr string
	}{
		{"plain", "MAILCOW_HOSTNAME=mail.example.com\nADDITIONAL_SAN=a.example.com,mta-sts.*\nADDITIONAL_SERVER_NAMES=\n",
			Conf{Hostname: "mail.example.com", AdditionalSAN: []string{"a.example.com", "mta-sts.*"}}, ""},
		{"quotes and comments", `# ------------------------------
# mailcow web ui configuration
# ------------------------------
MAILCOW_HOSTNAME="Mail.Example.COM"   # the UI
ADDITIONAL_SAN='imap.*, smtp.* ,,'
export ADDITIONAL_SERVER_NAMES="webmail.example.com,mta-sts.*" # nginx
#ADDITIONAL_SAN=commented.example.com
DBPASS=se"cr"et
WEIRD="a \"quoted\" \$value"
`, Conf{Hostname: "mail.example.com", AdditionalSAN: []string{"imap.*", "smtp.*"}, AdditionalServerNames: []string{"webmail.example.com", "mta-sts.*"}}, ""},
		{"later wins", "MAILCOW_HOSTNAME=old.example.com\nMAILCOW_HOSTNAME=new.example.com\n",
			Conf{Hostname: "new.example.com"}, ""},
		{"crlf", "MAILCOW_HOSTNAME=mail.example.com\r\nADDITIONAL_SAN=x.example.com\r\n",
			Conf{Hostname: "mail.example.com", AdditionalSAN: []string{"x.example.com"}}, ""},
		{"not assignments ignored", "if true; then\nMAILCOW_HOSTNAME=mail.example.com\nfi\n=oops\n1X=y\n",
			Conf{Hostname: "mail.example.com"}, ""},
		{"idn hostname", "MAILCOW_HOSTNAME=mail.bücher.example\n", Conf{Hostname: "mail.xn--bcher-kva.example"}, ""},
		{"no hostname", "ADDITIONAL_SAN=x\n", Conf{}, "MAILCOW_HOSTNAME is not set"},
		{"empty hostname", "MAILCOW_HOSTNAME=\n", Conf{}, "MAILCOW_HOSTNAME is not set"},
		{"bad hostname", "MAILCOW_HOSTNAME=not a host\n", Conf{}, "line 1"},
		{"bad hostname quoted", "MAILCOW_HOSTNAME='not_a host!'\n", Conf{}, "MAILCOW_HOSTNAME"},
		{"unterminated", "MAILCOW_HOSTNAME=mail.example.com\nADDITIONAL_SAN=\"a,b\n", Conf{}, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConf(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("conf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailcow.conf")
	if err := os.WriteFile(path, []byte("MAILCOW_HOSTNAME=mail.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConf(path)
	if err != nil || c.Hostname != "mail.example.com" {
		t.Fatalf("LoadConf = %+v, %v", c, err)
	}
	if _, err := LoadConf(filepath.Join(t.TempDir(), "missing.conf")); err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("missing file: err = %v, want it to name the file", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("X=1\n"), 0o600)
	if _, err := LoadConf(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: err = %v, want it to name the file", err)
	}
}

func TestCoversMTASTS(t *testing.T) {
	tests := []struct {
		name        string
		conf        Conf
		domains     []string
		wantMissing []string
		wantFix     []string
	}{
		{"wildcard covers all",
			Conf{AdditionalSAN: []string{"mta-sts.*"}, AdditionalServerNames: []string{"mta-sts.*"}},
			[]string{"a.example", "b.example"}, nil, nil},
		{"nothing set",
			Conf{},
			[]string{"b.example", "a.example"}, []string{"a.example", "b.example"},
			[]string{"ADDITIONAL_SAN=mta-sts.*", "ADDITIONAL_SERVER_NAMES=mta-sts.*"}},
		{"merged with existing",
			Conf{AdditionalSAN: []string{"imap.*", "smtp.*"}, AdditionalServerNames: []string{"mta-sts.*"}},
			[]string{"a.example"}, []string{"a.example"},
			[]string{"ADDITIONAL_SAN=imap.*,smtp.*,mta-sts.*"}},
		{"exact names",
			Conf{AdditionalSAN: []string{"mta-sts.a.example"}, AdditionalServerNames: []string{"mta-sts.a.example"}},
			[]string{"A.example.", "b.example"}, []string{"b.example"},
			[]string{"ADDITIONAL_SAN=mta-sts.a.example,mta-sts.*", "ADDITIONAL_SERVER_NAMES=mta-sts.a.example,mta-sts.*"}},
		{"nginx wildcard counts for server names only",
			Conf{AdditionalSAN: []string{"*.a.example"}, AdditionalServerNames: []string{"*.a.example"}},
			[]string{"a.example"}, []string{"a.example"},
			[]string{"ADDITIONAL_SAN=*.a.example,mta-sts.*"}},
		{"nginx wildcard matches one label only",
			Conf{AdditionalSAN: []string{"mta-sts.*"}, AdditionalServerNames: []string{"*.example"}},
			[]string{"a.example"}, []string{"a.example"},
			[]string{"ADDITIONAL_SERVER_NAMES=*.example,mta-sts.*"}},
		{"no domains", Conf{}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			missing, fix := tt.conf.CoversMTASTS(tt.domains)
			if diff := cmp.Diff(tt.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFix, fix); diff != "" {
				t.Errorf("fix (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseConf(f *testing.F) {
	for _, seed := range []string{
		"MAILCOW_HOSTNAME=mail.example.com\n",
		"MAILCOW_HOSTNAME=\"mail.example.com\" # c\nADDITIONAL_SAN='a,b'\n",
		"export X=\"a\\\"b\"\n",
		"A='unterminated\n",
		"MAILCOW_HOSTNAME=a\\ b\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseConf(strings.NewReader(in))
		if err != nil {
			return
		}
		if c.Hostname == "" {
			t.Fatal("accepted a conf without a hostname")
		}
		for _, n := range append(c.AdditionalSAN, c.AdditionalServerNames...) {
			if n == "" || strings.Contains(n, ",") {
				t.Fatalf("bad list entry %q", n)
			}
		}
		c.CoversMTASTS([]string{"a.example", ""})
	})
}
