package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// checkKindConfig decodes FILE into kind's own v1alpha4 Cluster type, unknown fields refused
// (kind itself ignores some of them silently, so a misspelt field would otherwise do nothing).
func checkKindConfig(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	// Decoding alone accepts any kind and apiVersion: the fields would be read as this type's.
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return fmt.Errorf("%s: kind %q, apiVersion %q: expected kind Cluster, apiVersion kind.x-k8s.io/v1alpha4", file, c.Kind, c.APIVersion)
	}
	return nil
}
