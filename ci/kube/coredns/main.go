// Command coredns is CoreDNS with only the plugins the test cluster's DNS uses: the full build
// carries every cloud provider's SDK and takes several times longer on two cores.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// The plugins run in this order for each query (CoreDNS's own plugin.cfg order). `bind` keeps
// the server off the machine's other addresses: it answers only on the pod bridge's gateway.
var directives = []string{"reload", "bind", "errors", "health", "ready", "cache", "kubernetes", "forward"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
