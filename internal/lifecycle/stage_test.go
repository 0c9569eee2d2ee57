package lifecycle

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	since := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	w := Window{Since: since, MaxAge: 604800}
	during := since.Add(3 * time.Hour)
	later := since.Add(3 * 24 * time.Hour)
	after := since.Add(8 * 24 * time.Hour) // max_age and the day of Late
	const none, old = "noneid", "oldid"
	tests := []struct {
		name string
		now  time.Time
		live Live
		want Stage
	}{
		{"nothing left", during, Live{}, Retired},
		{"nothing left after the wait", after, Live{}, Retired},
		{"old id on the day", during, Live{STSIDs: []string{old}, Any: true}, Retiring},
		{"delegated pointer on the day", during, Live{STSPointer: true, Any: true}, Retiring},
		{"none published, waiting", later, Live{STSIDs: []string{none}, Any: true}, Retiring},
		{"none published, wait over", after, Live{STSIDs: []string{none}, Any: true}, Removing},
		{"id gone, other records left, wait over", after, Live{Any: true}, Removing},
		{"id gone, waiting", later, Live{Any: true}, Retiring},
		{"old id days after the date", later, Live{STSIDs: []string{old}, Any: true}, TooLate},
		{"old id after the wait", after, Live{STSIDs: []string{old}, Any: true}, TooLate},
		{"two records, one none", later, Live{STSIDs: []string{none, old}, Any: true}, TooLate},
		{"pointer after the wait", after, Live{STSPointer: true, Any: true}, TooLate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(w, tt.now, none, tt.live); got != tt.want {
				t.Errorf("Decide = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTooLateError(t *testing.T) {
	w := Window{Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), MaxAge: 604800}
	err := TooLateError("example.org", w, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	for _, want := range []string{"retire: example.org: 2026-11-20:", "set retire: example.org: 2026-11-23 (today)", "max_age 604800"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
