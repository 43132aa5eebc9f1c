/* sockopt.h: TCP_NODELAY for the collector's broker connection, which Paho never sets. */
#ifndef HEARTWIRE_COLLECTOR_SOCKOPT_H
#define HEARTWIRE_COLLECTOR_SOCKOPT_H

/* Turns Nagle's algorithm off on every TCP socket of this process whose peer port is `port`
 * (the broker's): Paho MQTTAsync creates its socket itself and offers no hook, and with Nagle
 * on, the collector's retained-state publish waits behind the PUBACK it just sent for the
 * triggering message until the broker's delayed ACK comes back (40 ms on Linux). Call after
 * every successful connect (a reconnect makes a new socket). Returns the number of sockets
 * changed (0 when none was found), or -1 when /proc/self/fd cannot be read. */
int hw__tcp_nodelay_peer_port(int port);

#endif
