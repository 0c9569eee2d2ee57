package hetznerfake

import (
	"context"
	"fmt"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

// BenchmarkGetRecords reads a 1000-RRset zone (21 pages) per iteration.
func BenchmarkGetRecords(b *testing.B) {
	s := New(testToken, fakeapi.Options{})
	defer s.Close()
	defer s.UseAsDefaultTransport()()
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = fmt.Sprintf("h%04d.example.com. 300 IN TXT \"v=STSv1; id=%d\"", i, i)
	}
	if err := s.Seed(zoneName, lines...); err != nil {
		b.Fatal(err)
	}
	p := s.Provider()
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.GetRecords(ctx, zoneName); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
