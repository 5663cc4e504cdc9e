package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"

	ssv1alpha1 "github.com/bitnami/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

// unsealed is one Secret as the controller would create it: name, namespace and decoded data.
type unsealed struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Data      map[string]string `json:"data"`
}

// unseal decrypts the SealedSecrets of FILE (YAML documents or JSON) with the controller's private
// key, through upstream's own SealedSecret.Unseal: the check that stackport seals as kubeseal does.
func unseal(keyFile, file string) (string, error) {
	key, err := readPrivateKey(keyFile)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return "", err
	}
	codecs := serializer.NewCodecFactory(scheme)
	keys := map[string]*rsa.PrivateKey{"key": key}
	out := []unsealed{}
	for i, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(data), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
			continue
		}
		var ss ssv1alpha1.SealedSecret
		if err := yaml.UnmarshalStrict([]byte(doc), &ss); err != nil {
			return "", fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		if ss.Kind != "SealedSecret" || ss.APIVersion != "bitnami.com/v1alpha1" {
			return "", fmt.Errorf("%s: document %d: kind %q, apiVersion %q: expected SealedSecret, bitnami.com/v1alpha1", file, i+1, ss.Kind, ss.APIVersion)
		}
		secret, err := ss.Unseal(codecs, keys)
		if err != nil {
			return "", fmt.Errorf("%s: SealedSecret %s/%s: %w", file, ss.Namespace, ss.Name, err)
		}
		u := unsealed{Name: secret.Name, Namespace: secret.Namespace, Data: map[string]string{}}
		for k, v := range secret.Data {
			u.Data[k] = string(v)
		}
		out = append(out, u)
	}
	text, err := json.MarshalIndent(out, "", "  ")
	return string(text) + "\n", err
}

func stripComments(doc []byte) []byte {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAll(doc, nil)
}

// readPrivateKey reads an RSA private key in PEM, PKCS#1 or PKCS#8.
func readPrivateKey(file string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", file)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	rsaKey, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA private key", file)
	}
	return rsaKey, nil
}
