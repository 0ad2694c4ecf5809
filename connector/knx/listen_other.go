//go:build !unix

package knx

import (
	"context"
	"net"
)

// listenGroup joins the multicast group on ifi.
func listenGroup(ctx context.Context, ifi *net.Interface, group *net.UDPAddr) (*net.UDPConn, error) {
	return net.ListenMulticastUDP("udp4", ifi, group)
}
