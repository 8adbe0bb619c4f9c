package inctrl

import (
	"fmt"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

var staticResolvers atomic.Int64

// target turns an address into a dial target. One address passes through (grpc's dns resolver yields every
// address of a name, which round_robin then uses); a comma-separated list becomes a manual resolver with those
// addresses, fixed for the life of the client (use a DNS name when the set of replicas changes).
func target(address string) (string, resolver.Builder, error) {
	var addrs []resolver.Address
	for _, a := range strings.Split(address, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if !strings.Contains(a, ":") {
				return "", nil, fmt.Errorf("inctrl: address %q is not host:port", a)
			}
			addrs = append(addrs, resolver.Address{Addr: a})
		}
	}
	switch len(addrs) {
	case 0:
		return "", nil, fmt.Errorf("inctrl: no server address given")
	case 1:
		return addrs[0].Addr, nil, nil
	}
	r := manual.NewBuilderWithScheme(fmt.Sprintf("inctrl-static-%d", staticResolvers.Add(1)))
	r.InitialState(resolver.State{Addresses: addrs})
	return r.Scheme() + ":///replicas", r, nil
}
