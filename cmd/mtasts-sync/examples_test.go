package main

import (
	"bytes"
	"errors"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
)

// examplesDir is the examples/ directory, seen from this package.
var examplesDir = filepath.Join("..", "..", "examples")

// exampleEnv holds the variables whose value must look real for the config
// to validate (host names, ports, directories). Every other variable reads
// as a secret that says where it came from, so inline secrets stand out.
var exampleEnv = map[string]string{
	"MAILCOW_HOSTNAME":      "mail.example.com",
	"HTTPS_PORT":            "443",
	"CREDENTIALS_DIRECTORY": "/run/credentials/mtasts-sync.service",
}

const (
	envSecretPrefix = "secret-from-env-"
	fileSecret      = "c2VjcmV0LWZyb20tZmlsZQ==" // base64, as a TSIG key must be
)

// exampleOptions are the real loader options with an environment in which
// every variable is set and a file system in which every file but the
// config itself holds a secret: the examples name paths on machines that
// are not this one.
func exampleOptions(configPath string) config.Options {
	opts := engine.ConfigOptions()
	opts.LookupEnv = func(name string) (string, bool) {
		if v, ok := exampleEnv[name]; ok {
			return v, true
		}
		return envSecretPrefix + name, true
	}
	opts.ReadFile = func(path string, limit int64) ([]byte, error) {
		if path == configPath {
			return safefile.ReadFile(path, limit)
		}
		return []byte(fileSecret + "\n"), nil
	}
	return opts
}

// TestExamplesLoad loads every config under examples/ with the real loader:
// each mtasts-sync.yaml, and each config held in a Kubernetes ConfigMap.
// An example that stops validating, teaches a doubtful setting (a warning)
// or writes a secret inline fails here.
func TestExamplesLoad(t *testing.T) {
	var files, embedded int
	err := filepath.WalkDir(examplesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(examplesDir, path)
		switch ext := filepath.Ext(path); {
		case d.IsDir():
		case d.Name() == "mtasts-sync.yaml":
			files++
			t.Run(rel, func(t *testing.T) {
				cfg, err := config.Load(path, exampleOptions(path))
				if err != nil {
					t.Fatalf("%v", err)
				}
				assertExampleConfig(t, cfg)
			})
		case ext == ".yaml" || ext == ".yml":
			configs, err := configMapConfigs(path)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			for _, c := range configs {
				embedded++
				t.Run(rel+"/"+c.name, func(t *testing.T) {
					// The path is where the CronJob mounts the config, so
					// relative paths resolve as they will in the pod.
					cfg, err := config.Parse(c.data, c.mountPath, exampleOptions(""))
					if err != nil {
						t.Fatalf("%v", err)
					}
					assertExampleConfig(t, cfg)
				})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", examplesDir, err)
	}
	// Guards against a walk that silently finds nothing to check.
	if files < 2 {
		t.Errorf("found %d mtasts-sync.yaml files under %s; want the quickstart and the deployment examples", files, examplesDir)
	}
	if embedded == 0 {
		t.Errorf("found no config inside a ConfigMap under %s; the kubernetes example should hold at least one", examplesDir)
	}
}

// assertExampleConfig fails on warnings and on secrets written into the
// example itself rather than taken from the environment or a file.
func assertExampleConfig(t *testing.T, cfg *config.Config) {
	t.Helper()
	for _, w := range cfg.Warnings {
		t.Errorf("warning: %s (examples should not teach doubtful settings)", w)
	}
	fromOutside := func(v string) bool {
		return strings.HasPrefix(v, envSecretPrefix) || v == fileSecret
	}
	for name, p := range cfg.Providers {
		for key, v := range p.Secrets {
			if !fromOutside(v.Reveal()) {
				t.Errorf("providers.%s.%s is written inline; use ${VAR} or %s_file", name, key, key)
			}
		}
	}
	if cfg.Mailcow != nil && !fromOutside(cfg.Mailcow.APIKey.Reveal()) {
		t.Errorf("mailcow.api_key is written inline; use ${VAR} or api_key_file")
	}
}

// embeddedConfig is one config file held in a ConfigMap.
type embeddedConfig struct {
	name      string // the ConfigMap's data key
	mountPath string
	data      []byte
}

// configMapConfigs returns the configs (data keys ending in .yaml or .yml)
// of every ConfigMap in a multi-document YAML file; other documents and
// files are skipped.
func configMapConfigs(path string) ([]embeddedConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []embeddedConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct{ Name string }
			Data     map[string]string `yaml:"data"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if doc.Kind != "ConfigMap" {
			continue
		}
		keys := make([]string, 0, len(doc.Data))
		for k := range doc.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if ext := filepath.Ext(k); ext != ".yaml" && ext != ".yml" {
				continue
			}
			out = append(out, embeddedConfig{
				name:      doc.Metadata.Name + "/" + k,
				mountPath: filepath.Join(string(filepath.Separator), "var", "lib", "mtasts-sync", k),
				data:      []byte(doc.Data[k]),
			})
		}
	}
	return out, nil
}
