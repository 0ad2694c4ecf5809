//go:build unix

package knx

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
)

// listenGroup binds a socket to the multicast group's own address (not
// the wildcard, which net.ListenMulticastUDP uses), so that it receives
// only the group's datagrams and never the unicast ones of a tunnelling
// server on the same port and host (knxd serves both on one port), and
// joins the group on ifi.
func listenGroup(ctx context.Context, ifi *net.Interface, group *net.UDPAddr) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", group.String())
	if err != nil {
		return nil, err
	}
	c := pc.(*net.UDPConn)
	p := ipv4.NewPacketConn(c)
	if err := p.JoinGroup(ifi, group); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
