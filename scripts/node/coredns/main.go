// CoreDNS for the test node, with only the plugins its Corefile (scripts/node/manifests) uses:
// the full plugin set (github.com/coredns/coredns/core/plugin) would add cloud SDKs and minutes of
// build time. scripts/cluster/build.sh copies this file into a wrapper module that requires
// github.com/coredns/coredns at COREDNS_VERSION (scripts/cluster/versions.env); the plugin order
// still comes from CoreDNS's own core/dnsserver/zdirectives.go.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
