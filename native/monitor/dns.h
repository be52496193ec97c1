/*
 * The embedded DNS server of a container on user-defined networks (Docker's 127.0.0.11), served by the container's
 * monitor so that it answers while berthd is down — the monitor already outlives berthd and costs no extra process.
 *
 * SOCKETS: dns_open() enters the container's network namespace (the bind mount berthd made, e.g.
 *   <exec-root>/netns/<id12>), makes a UDP and a listening TCP socket bound to 127.0.0.11:53 there, and returns to
 *   the monitor's own (the host's) namespace, where it makes the socket that forwards queries to upstream servers —
 *   so a loopback resolver of the host (127.0.0.53, systemd-resolved) is reachable, as with Docker. The monitor is
 *   single-threaded, so setns() affects nothing else. Called before the container process exists.
 *
 * DATA (written by berthd with temp file + rename; re-read when a file's inode, size or mtime changes, checked on
 *   every query, so a change shows at the next query):
 *   the container's config file (--dns-config):   net <table path>    one line per network the container is on
 *                                                  upstream <IPv4>     its --dns servers, else the host's resolvers
 *   a network's name table:                        network <name>
 *                                                  ep <IPv4|-> <IPv6|-> <name> [<name>…]   first name: the container's
 *
 * ANSWERS: A/AAAA for every name of every endpoint on the container's networks (container name, short ID,
 *   aliases, compose service names; also "<name>.<network>"), all members of a shared name, rotated per answer; PTR
 *   for their addresses ("<container>.<network>"); NXDOMAIN for other single-label names; a known name without an
 *   address of the asked family gets an empty NOERROR. Everything else is forwarded over UDP to the upstreams in
 *   turn (2 s each), SERVFAIL when none answers. TCP clients get the same answers (forwarded ones over UDP).
 */
#ifndef BERTH_MONITOR_DNS_H
#define BERTH_MONITOR_DNS_H
#include <poll.h>
#include <stddef.h>

#define DNS_TCP_MAX 16
#define DNS_MAX_FDS (3 + DNS_TCP_MAX)

/* Opens the server's sockets; 0, or -1 with a message in err (the container then runs without embedded DNS). */
int dns_open(const char *netns_path, const char *config_path, char *err, size_t errlen);
/* Adds the server's descriptors to a poll set (at most DNS_MAX_FDS); returns how many. */
int dns_poll_fill(struct pollfd *pf);
/* Handles the events of the descriptors dns_poll_fill added (same order, same count). */
void dns_poll_handle(const struct pollfd *pf, int n);
/* Milliseconds until the next forwarding or idle deadline; -1 when there is none. */
int dns_timeout_ms(void);

#endif
