// Package metrics turns what check found and what apply did into
// Prometheus metrics: a client_golang registry per run, rendered in the
// text exposition format for node_exporter's textfile collector or
// stdout, and written atomically (through safefile) so the collector
// never reads half a file.
//
// A metrics file is ours when every family in it is named mtasts_sync_*:
// only such a file is overwritten, and it is where the last successful
// apply time of a domain is remembered across runs.
package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// prefix starts the name of every metric we export.
const prefix = "mtasts_sync_"

// maxFileSize bounds the metrics file read back: ours holds a few lines a
// domain, so 16 MiB is far beyond any real one.
const maxFileSize = 16 * safefile.MiB

// Text renders everything g gathers in the text exposition format, families
// sorted by name.
func Text(g prometheus.Gatherer) ([]byte, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("gathering metrics: %w", err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", mf.GetName(), err)
		}
	}
	return buf.Bytes(), nil
}

// Parse reads a text exposition back into metric families by name.
func Parse(data []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(data))
}

// ReadOurs reads the metrics file at path for the values it remembers. A
// missing or empty file gives nil. A file that does not parse, or holds a
// family not named mtasts_sync_*, is not ours: the error says so, and the
// caller must not overwrite it.
func ReadOurs(path string) (map[string]*dto.MetricFamily, error) {
	data, err := safefile.ReadFile(path, maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	mfs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Prometheus text file mtasts-sync wrote (%v): give a file of its own, or remove it", path, err)
	}
	var foreign []string
	for name := range mfs {
		if !strings.HasPrefix(name, prefix) {
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		return nil, fmt.Errorf("%s holds metrics that are not mtasts-sync's (%s): give mtasts-sync a file of its own in the textfile directory", path, strings.Join(foreign, ", "))
	}
	return mfs, nil
}

// WriteFile writes what g gathers to path atomically, first making sure
// that a file already there is ours.
func WriteFile(path string, g prometheus.Gatherer) error {
	if _, err := ReadOurs(path); err != nil {
		return err
	}
	data, err := Text(g)
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing metrics to %s: %w", path, err)
	}
	return nil
}

// gauge registers a gauge vector on reg.
func gauge(reg *prometheus.Registry, name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + name, Help: help}, labels)
	reg.MustRegister(g)
	return g
}

// previous returns the value of the series of our family name (without
// the mtasts_sync_ prefix) with exactly labels, from a file read with
// ReadOurs.
func previous(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	return Value(mfs, prefix+name, labels)
}

// Value returns the gauge value of the series of family name whose labels
// are exactly labels (none: an empty map), in families parsed with Parse;
// ok is false when there is no such series.
func Value(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
				match = false
				break
			}
		}
		if match && m.GetGauge() != nil {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
