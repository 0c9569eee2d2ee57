package testbind

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

func TestZoneFile(t *testing.T) {
	const (
		soa   = "example.test.\t3600\tIN\tSOA\tns1.example.test. hostmaster.example.test. 1 3600 600 86400 60"
		ns    = "example.test.\t3600\tIN\tNS\tns1.example.test."
		glue  = "ns1.example.test.\t3600\tIN\tA\t127.0.0.1"
		title = "$ORIGIN example.test."
	)
	tests := []struct {
		name    string
		zone    Zone
		want    []string
		wantErr string
	}{
		{
			name: "empty zone gets SOA, NS and glue",
			zone: Zone{Name: "example.test"},
			want: []string{title, soa, ns, glue},
		},
		{
			name: "name case and trailing dot normalised",
			zone: Zone{Name: "Example.TEST."},
			want: []string{title, soa, ns, glue},
		},
		{
			name: "records keep their order after the defaults",
			zone: Zone{Name: "example.test", Records: []string{
				`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=1"`,
				"mta-sts.example.test. 300 IN CNAME mail.example.net.",
			}},
			want: []string{title, soa, ns, glue,
				"_mta-sts.example.test.\t300\tIN\tTXT\t\"v=STSv1; id=1\"",
				"mta-sts.example.test.\t300\tIN\tCNAME\tmail.example.net.",
			},
		},
		{
			name: "relative names, @, missing TTL, blank and comment lines",
			zone: Zone{Name: "example.test", Records: []string{"www IN A 192.0.2.1", "", "; a comment", "@ 60 IN MX 10 mail.example.net."}},
			want: []string{title, soa, ns, glue,
				"www.example.test.\t3600\tIN\tA\t192.0.2.1",
				"example.test.\t60\tIN\tMX\t10 mail.example.net.",
			},
		},
		{
			name: "out-of-zone NS target needs no glue and names the SOA primary",
			zone: Zone{Name: "example.test", Records: []string{"example.test. 3600 IN NS ns.example.net."}},
			want: []string{title,
				"example.test.\t3600\tIN\tSOA\tns.example.net. hostmaster.example.test. 1 3600 600 86400 60",
				"example.test.\t3600\tIN\tNS\tns.example.net.",
			},
		},
		{
			name: "in-zone NS target with its own address gets no extra glue",
			zone: Zone{Name: "example.test", Records: []string{"example.test. IN NS dns.example.test.", "dns.example.test. IN AAAA ::1"}},
			want: []string{title,
				"example.test.\t3600\tIN\tSOA\tdns.example.test. hostmaster.example.test. 1 3600 600 86400 60",
				"example.test.\t3600\tIN\tNS\tdns.example.test.",
				"dns.example.test.\t3600\tIN\tAAAA\t::1",
			},
		},
		{
			name: "in-zone NS target without address gets glue",
			zone: Zone{Name: "example.test", Records: []string{"example.test. IN NS dns.example.test."}},
			want: []string{title,
				"example.test.\t3600\tIN\tSOA\tdns.example.test. hostmaster.example.test. 1 3600 600 86400 60",
				"dns.example.test.\t3600\tIN\tA\t127.0.0.1",
				"example.test.\t3600\tIN\tNS\tdns.example.test.",
			},
		},
		{
			name: "own SOA moves first",
			zone: Zone{Name: "example.test", Records: []string{
				"a.example.test. 300 IN A 192.0.2.1",
				"example.test. 600 IN SOA ns1.example.test. admin.example.test. 7 1 2 3 4",
			}},
			want: []string{title,
				"example.test.\t600\tIN\tSOA\tns1.example.test. admin.example.test. 7 1 2 3 4",
				ns, glue,
				"a.example.test.\t300\tIN\tA\t192.0.2.1",
			},
		},
		{name: "record outside the zone", zone: Zone{Name: "example.test", Records: []string{"www.example.net. IN A 192.0.2.1"}}, wantErr: `zone example.test.: record 1 "www.example.net. IN A 192.0.2.1": owner www.example.net. is outside the zone`},
		{name: "syntax error", zone: Zone{Name: "example.test", Records: []string{"www.example.test. IN A not-an-ip"}}, wantErr: `zone example.test.: record 1 "www.example.test. IN A not-an-ip": dns: bad A A`},
		{name: "two records on one line", zone: Zone{Name: "example.test", Records: []string{"a IN A 192.0.2.1\nb IN A 192.0.2.2"}}, wantErr: "more than one record on the line"},
		{name: "type without data", zone: Zone{Name: "example.test", Records: []string{"www IN A"}}, wantErr: "record has no data"},
		{name: "two SOA", zone: Zone{Name: "example.test", Records: []string{"@ IN SOA a. b. 1 2 3 4 5", "@ IN SOA a. b. 2 2 3 4 5"}}, wantErr: "more than one SOA"},
		{name: "SOA below apex", zone: Zone{Name: "example.test", Records: []string{"sub IN SOA a. b. 1 2 3 4 5"}}, wantErr: "SOA at sub.example.test.: an SOA belongs only at the apex"},
		{name: "$INCLUDE refused", zone: Zone{Name: "example.test", Records: []string{"$INCLUDE /etc/passwd"}}, wantErr: "$INCLUDE directive not allowed"},
		{name: "empty zone name", zone: Zone{Name: " "}, wantErr: "zone name is empty"},
		{name: "quote in zone name", zone: Zone{Name: `ex"ample.test`}, wantErr: `character '"' not allowed`},
		{name: "empty label", zone: Zone{Name: "example..test"}, wantErr: "not a valid domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := zoneFile(tt.zone)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("zoneFile() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("zoneFile() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(strings.TrimSuffix(got, "\n"), "\n")); diff != "" {
				t.Errorf("zoneFile() lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigNamesEveryZoneAndTheKey(t *testing.T) {
	got := config("/tmp/x", 5353, "c2VjcmV0", []string{"a.test", "b.test"})
	for _, want := range []string{
		`key "mtasts-test." { algorithm hmac-sha256; secret "c2VjcmV0"; };`,
		`listen-on port 5353 { 127.0.0.1; }; listen-on-v6 { none; };`,
		`directory "/tmp/x"; pid-file "/tmp/x/named.pid"; session-keyfile "/tmp/x/session.key";`,
		`zone "a.test" { type primary; file "zone0.db";`,
		`zone "b.test" { type primary; file "zone1.db";`,
		`allow-update { key "mtasts-test."; }; allow-transfer { key "mtasts-test."; }; };`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

// FuzzZoneFile checks that no record line panics the zone writer and that
// whatever it accepts is a zone file miekg reads back with an SOA first.
func FuzzZoneFile(f *testing.F) {
	for _, seed := range []string{
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=1"`,
		"example.test. IN NS ns.example.net.",
		"@ IN SOA a. b. 1 2 3 4 5",
		"www IN A 192.0.2.1",
		`x IN TXT "a\"b" "c\\d" \195\169`,
		"$TTL 5",
		"; comment",
		"(",
	} {
		f.Add("example.test", seed)
	}
	f.Fuzz(func(t *testing.T, zone, line string) {
		text, err := zoneFile(Zone{Name: zone, Records: []string{line}})
		if err != nil {
			return
		}
		zp := dns.NewZoneParser(strings.NewReader(text), "", "")
		first, ok := zp.Next()
		if !ok {
			t.Fatalf("zone file has no records (err %v):\n%s", zp.Err(), text)
		}
		if _, isSOA := first.(*dns.SOA); !isSOA {
			t.Fatalf("first record is %v, want the SOA:\n%s", first, text)
		}
		for _, ok := zp.Next(); ok; _, ok = zp.Next() {
		}
		if err := zp.Err(); err != nil {
			t.Fatalf("zone file does not parse back: %v\n%s", err, text)
		}
	})
}
