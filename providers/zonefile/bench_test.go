package zonefile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/libdns/libdns"
)

// BenchmarkBatch1000Domains is one apply's zone edit for 1,000 new mail
// domains in one zone: 3,000 records added in one batch, one file write.
func BenchmarkBatch1000Domains(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		writeZoneB(b, dir)
		p := New(dir)
		b.StartTimer()
		ctx := context.Background()
		e, err := p.Begin(ctx, "example.com")
		if err != nil {
			b.Fatal(err)
		}
		for i := range 1000 {
			d := fmt.Sprintf("d%d", i)
			for _, r := range []libdns.Record{
				libdns.CNAME{Name: "mta-sts." + d, Target: "mail.example.com."},
				libdns.TXT{Name: "_smtp._tls." + d, Text: "v=TLSRPTv1; rua=mailto:tls-reports@example.com"},
				libdns.TXT{Name: "_mta-sts." + d, Text: "v=STSv1; id=c0a762642c8ff96deabc"},
			} {
				if _, err := e.AppendRecords(ctx, "example.com", []libdns.Record{r}); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := e.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

func writeZoneB(b *testing.B, dir string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "example.com.zone"), []byte(smallZone), 0o644); err != nil {
		b.Fatal(err)
	}
}
