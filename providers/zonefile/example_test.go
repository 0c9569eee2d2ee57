package zonefile_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/libdns/libdns"

	"github.com/mtasts-sync/mtasts-sync/providers/zonefile"
)

func Example() {
	dir, err := os.MkdirTemp("", "zones")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	zone := `$TTL 3600
@    IN SOA ns1.example.com. hostmaster.example.com. 41 7200 3600 1209600 300
@    IN NS  ns1.example.com.
ns1  IN A   192.0.2.53
mail IN A   192.0.2.25
`
	if err := os.WriteFile(filepath.Join(dir, "example.com.zone"), []byte(zone), 0o644); err != nil {
		log.Fatal(err)
	}

	p := zonefile.New(dir)
	ctx := context.Background()
	_, err = p.SetRecords(ctx, "example.com.", []libdns.Record{
		libdns.CNAME{Name: "mta-sts", TTL: time.Hour, Target: "mail.example.com."},
		libdns.TXT{Name: "_mta-sts", TTL: 5 * time.Minute, Text: "v=STSv1; id=20260314T000000"},
		libdns.TXT{Name: "_smtp._tls", TTL: 5 * time.Minute, Text: "v=TLSRPTv1; rua=mailto:tls-reports@example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}

	text, err := os.ReadFile(filepath.Join(dir, "example.com.zone"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(text))
	// Output:
	// ; managed in part by mtasts-sync: only _mta-sts, _smtp._tls and mta-sts names are ever changed
	// example.com.	3600	IN	SOA	ns1.example.com. hostmaster.example.com. 42 7200 3600 1209600 300
	// example.com.	3600	IN	NS	ns1.example.com.
	// _mta-sts.example.com.	300	IN	TXT	"v=STSv1; id=20260314T000000"
	// _smtp._tls.example.com.	300	IN	TXT	"v=TLSRPTv1; rua=mailto:tls-reports@example.com"
	// mail.example.com.	3600	IN	A	192.0.2.25
	// mta-sts.example.com.	3600	IN	CNAME	mail.example.com.
	// ns1.example.com.	3600	IN	A	192.0.2.53
}
