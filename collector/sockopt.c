/* sockopt.c: finds the process's TCP sockets connected to a port and sets TCP_NODELAY. */
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sockopt.h"

static int peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if(getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
	if(ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if(ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int hw__tcp_nodelay_peer_port(int port)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int changed = 0;

	if(!d) return -1;
	while((e = readdir(d))){
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct stat sb;
		int type = 0, one = 1;
		socklen_t tl = sizeof(type);
		if(*end || end == e->d_name || fd < 0 || fd == dirfd(d)) continue;
		if(fstat((int)fd, &sb) != 0 || !S_ISSOCK(sb.st_mode)) continue;
		if(getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) continue;
		if(peer_port((int)fd) != port) continue;
		if(setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) changed++;
	}
	closedir(d);
	return changed;
}
