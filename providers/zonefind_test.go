package providers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
)

func TestFindZoneByListing(t *testing.T) {
	dir := t.TempDir()
	for _, z := range []string{"example.com", "eu.example.com", "example.org"} {
		soa := "$ORIGIN " + z + ".\n@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n@ 3600 IN NS ns1.example.com.\n"
		if err := os.WriteFile(filepath.Join(dir, z+".zone"), []byte(soa), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Build(context.Background(), "files", "zonefile", map[string]string{"directory": dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for domain, want := range map[string]string{
		"example.com":         "example.com",
		"shop.example.com":    "example.com",
		"eu.example.com":      "eu.example.com", // the longest zone wins
		"mail.eu.example.com": "eu.example.com",
		"example.org":         "example.org",
	} {
		got, err := p.FindZone(context.Background(), domain, "")
		if err != nil || got != want {
			t.Errorf("FindZone(%s) = %q, %v; want %q", domain, got, err, want)
		}
	}
	_, err = p.FindZone(context.Background(), "badexample.com", "")
	if err == nil || !strings.Contains(err.Error(), "holds no zone for badexample.com") {
		t.Errorf("FindZone(badexample.com) error = %v", err)
	}
}

func TestSOAZone(t *testing.T) {
	srv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600",
		"eu.example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600",
	}})
	for domain, want := range map[string]string{"example.com": "example.com", "eu.example.com": "eu.example.com"} {
		got, err := SOAZone(context.Background(), domain, srv.Addr)
		if err != nil || got != want {
			t.Errorf("SOAZone(%s) = %q, %v; want %q", domain, got, err, want)
		}
	}
}
