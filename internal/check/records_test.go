package check

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestSelectRecords(t *testing.T) {
	tests := []struct {
		name    string
		txts    []string
		version string
		kept    []string
	}{
		{"plain", []string{"v=STSv1; id=1"}, "v=STSv1", []string{"v=STSv1; id=1"}},
		{"mailcow spelling", []string{"v=STSv1;id=1;"}, "v=STSv1", []string{"v=STSv1;id=1;"}},
		{"space before semicolon kept (errata 6285)", []string{"v=STSv1 ; id=1"}, "v=STSv1", []string{"v=STSv1 ; id=1"}},
		{"tab before semicolon kept", []string{"v=STSv1\t; id=1"}, "v=STSv1", []string{"v=STSv1\t; id=1"}},
		{"no semicolon discarded", []string{"v=STSv1"}, "v=STSv1", nil},
		{"space without semicolon discarded", []string{"v=STSv1 id=1"}, "v=STSv1", nil},
		{"case-sensitive", []string{"V=STSv1; id=1", "v=stsv1; id=1"}, "v=STSv1", nil},
		{"leading space discarded", []string{" v=STSv1; id=1"}, "v=STSv1", nil},
		{"longer version discarded", []string{"v=STSv10; id=1"}, "v=STSv1", nil},
		{"foreign records discarded", []string{"v=spf1 -all", "v=STSv1; id=1", "x"}, "v=STSv1", []string{"v=STSv1; id=1"}},
		{"two kept", []string{"v=STSv1; id=1", "v=STSv1;id=2"}, "v=STSv1", []string{"v=STSv1; id=1", "v=STSv1;id=2"}},
		{"tlsrpt", []string{"v=TLSRPTv1;rua=mailto:a@b.c", "v=STSv1; id=1"}, "v=TLSRPTv1", []string{"v=TLSRPTv1;rua=mailto:a@b.c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := selectRecords(tt.txts, tt.version)
			if !slices.Equal(s.kept, tt.kept) {
				t.Errorf("kept = %q, want %q", s.kept, tt.kept)
			}
			if len(s.kept)+len(s.ignored) != len(tt.txts) {
				t.Errorf("kept %d + ignored %d != %d records", len(s.kept), len(s.ignored), len(tt.txts))
			}
		})
	}
}

func TestJudgeSTSLookupErrors(t *testing.T) {
	nx := &rcodeError{name: "_mta-sts.example.com", qtype: dns.TypeTXT, rcode: dns.RcodeNameError}
	servfail := &rcodeError{name: "_mta-sts.example.com", qtype: dns.TypeTXT, rcode: dns.RcodeServerFailure}
	tests := []struct {
		err    error
		reason string
	}{
		{nx, "no MTA-STS record"},
		{servfail, "SERVFAIL"},
		{errors.New("server 127.0.0.1:53: i/o timeout"), "i/o timeout"},
	}
	for _, tt := range tests {
		res, _, ok := judgeSTS("_mta-sts.example.com", nil, nil, tt.err)
		if ok || res.Verdict != Fail || !strings.Contains(res.Reason, tt.reason) {
			t.Errorf("judgeSTS(%v) = %+v ok=%v, want fail containing %q", tt.err, res, ok, tt.reason)
		}
	}
}

// FuzzSelectRecords checks the partition: every record lands in exactly one
// list, and a kept record always starts with the version tag.
func FuzzSelectRecords(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=1", "v=STSv1 ;id=1", "v=STSv1", "V=STSv1;", "v=TLSRPTv1;rua=x", "v=STSv1\t\t;", ""} {
		f.Add(s, "v=STSv1")
	}
	f.Fuzz(func(t *testing.T, txt, version string) {
		s := selectRecords([]string{txt}, version)
		if len(s.kept)+len(s.ignored) != 1 {
			t.Fatalf("%q landed in %d lists", txt, len(s.kept)+len(s.ignored))
		}
		if len(s.kept) == 1 && !strings.HasPrefix(txt, version) {
			t.Fatalf("kept %q without prefix %q", txt, version)
		}
	})
}

// FuzzJudgeSTS checks that any TXT value yields a verdict with a reason, and
// that only a record senders keep can pass.
func FuzzJudgeSTS(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=1", "v=STSv1;id=abc;", "v=STSv1 ; id=1", "v=STSv1; id=", "v=STSv1; id=1; x=y", "v=STSv1;;", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		res, id, ok := judgeSTS("_mta-sts.example.com", nil, []string{txt}, nil)
		if res.Reason == "" || (res.Verdict != Pass && res.Verdict != Warn && res.Verdict != Fail) {
			t.Fatalf("judgeSTS(%q) = %+v", txt, res)
		}
		if ok != (res.Verdict != Fail) {
			t.Fatalf("judgeSTS(%q): ok=%v with verdict %s", txt, ok, res.Verdict)
		}
		if res.Verdict == Pass && (!strings.HasPrefix(txt, "v=STSv1;") || id == "") {
			t.Fatalf("judgeSTS(%q) passed with id %q", txt, id)
		}
	})
}

// FuzzJudgeTLSRPT checks that any TXT value yields a verdict with a reason and
// that a passing record starts the way senders require.
func FuzzJudgeTLSRPT(f *testing.F) {
	for _, s := range []string{"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1;rua=https://r.example/x", "v=TLSRPTv1; rua=http://x", "v=TLSRPTv1; rua=mailto:a!b@c", "v=TLSRPTv1 ;rua=mailto:a@b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		res := judgeTLSRPT("_smtp._tls.example.com", nil, []string{txt}, nil)
		if res.Reason == "" || (res.Verdict != Pass && res.Verdict != Warn && res.Verdict != Fail) {
			t.Fatalf("judgeTLSRPT(%q) = %+v", txt, res)
		}
		if res.Verdict == Pass && !strings.HasPrefix(txt, "v=TLSRPTv1;") {
			t.Fatalf("judgeTLSRPT(%q) passed", txt)
		}
	})
}

func TestSelectRecordsSpacedBesideExact(t *testing.T) {
	for _, tt := range []struct {
		txts          []string
		kept, ignored int
	}{
		{[]string{"v=STSv1; id=a", "v=STSv1 ; id=b"}, 1, 1},
		{[]string{"v=STSv1 ; id=b"}, 1, 0},
		{[]string{"v=STSv1; id=a", "v=STSv1;id=c"}, 2, 0},
		{[]string{"v=STSv1 ; id=a", "v=STSv1\t; id=b"}, 2, 0},
	} {
		s := selectRecords(tt.txts, "v=STSv1")
		if len(s.kept) != tt.kept || len(s.ignored) != tt.ignored {
			t.Errorf("selectRecords(%q): kept %q, ignored %q; want %d and %d", tt.txts, s.kept, s.ignored, tt.kept, tt.ignored)
		}
	}
}

// TestDescribeHostLookupError checks the advice on a policy host that did
// not resolve: create the CNAME only when DNS said the name is not there,
// never when the lookup itself failed.
func TestDescribeHostLookupError(t *testing.T) {
	const u = "https://mta-sts.example.com/.well-known/mta-sts.txt"
	for _, tc := range []struct {
		name       string
		lookupErr  error
		want, deny string
	}{
		{"NXDOMAIN", &rcodeError{name: "mta-sts.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError}, "a CNAME to the policy host", "lookup failed"},
		{"no address records", nil, "a CNAME to the policy host", "lookup failed"},
		{"SERVFAIL", &rcodeError{name: "mta-sts.example.com.", qtype: dns.TypeA, rcode: dns.RcodeServerFailure}, "the lookup failed", "CNAME"},
		{"no answer", errors.New("read udp: connection refused"), "the lookup failed", "CNAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := describeFetchError(u, "mta-sts.example.com", &HostLookupError{Host: "mta-sts.example.com.", Resolver: "127.0.0.1:53", Err: tc.lookupErr})
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.deny) {
				t.Errorf("got %q, want %q and not %q", err, tc.want, tc.deny)
			}
		})
	}
}
