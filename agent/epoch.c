/* epoch.c: per-session epoch files: {state_dir}/{session}.epoch, one decimal number. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heartwire/ids.h"

#include "epoch.h"

int hw_state_dir_default(char *buf, size_t len, hw_error_t *err)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;

	if(xdg && xdg[0] == '/'){
		n = snprintf(buf, len, "%s/heartwire", xdg);
	}else if(home && home[0] == '/'){
		n = snprintf(buf, len, "%s/.local/state/heartwire", home);
	}else{
		return hw_error_set(err, HW_ERR_CONFIG,
				"no state directory: set --state-dir, HEARTWIRE_STATE_DIR, XDG_STATE_HOME or HOME");
	}
	if(n < 0 || (size_t)n >= len) return hw_error_set(err, HW_ERR_CONFIG, "the state directory path is too long");
	return HW_OK;
}

int hw_state_dir_make(const char *dir, hw_error_t *err)
{
	char path[4096];
	size_t n = strlen(dir);
	struct stat st;

	if(n == 0 || n >= sizeof(path)) return hw_error_set(err, HW_ERR_CONFIG, "state directory path is empty or too long");
	memcpy(path, dir, n + 1);
	for(size_t i = 1; i <= n; i++){
		if(path[i] != '/' && path[i] != '\0') continue;
		path[i] = '\0';
		if(mkdir(path, 0700) != 0 && errno != EEXIST)
			return hw_error_set(err, HW_ERR_IO, "cannot create the state directory %s: %s", path, strerror(errno));
		if(i < n) path[i] = '/';
	}
	if(stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return hw_error_set(err, HW_ERR_IO, "state directory %s is not a directory", dir);
	return HW_OK;
}

int hw_epoch_path(char *buf, size_t len, const char *dir, const char *session, hw_error_t *err)
{
	int n, rc = hw_id_check("session", session, err);

	if(rc != HW_OK) return rc;
	n = snprintf(buf, len, "%s/%s.epoch", dir, session);
	if(n < 0 || (size_t)n >= len) return hw_error_set(err, HW_ERR_CONFIG, "epoch file path is too long");
	return HW_OK;
}

/* Parses the file's content: empty is 0, else one decimal number and an optional newline. */
static int parse_epoch(const char *path, const char *buf, size_t n, int64_t *out, hw_error_t *err)
{
	char *end;
	long long v;

	while(n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
	if(n == 0){
		*out = 0;
		return HW_OK;
	}
	if(buf[0] < '0' || buf[0] > '9') goto bad;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if(errno != 0 || end != buf + n || v < 0) goto bad;
	*out = v;
	return HW_OK;
bad:
	return hw_error_set(err, HW_ERR_CONFIG,
			"epoch file %s does not hold a number; fix or remove it (removing it reuses epochs)", path);
}

/* Opens (creating) and locks the epoch file, and reads its value. */
static int open_locked(
		const char *dir, const char *session, int *fd_out, int64_t *value, char *path, size_t plen, hw_error_t *err)
{
	char buf[64];
	ssize_t n;
	int fd, rc;

	*fd_out = -1;
	rc = hw_epoch_path(path, plen, dir, session, err);
	if(rc != HW_OK) return rc;
	rc = hw_state_dir_make(dir, err);
	if(rc != HW_OK) return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if(fd < 0) return hw_error_set(err, HW_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	while(flock(fd, LOCK_EX) != 0){
		if(errno != EINTR){
			rc = hw_error_set(err, HW_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return rc;
		}
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if(n < 0){
		rc = hw_error_set(err, HW_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	rc = parse_epoch(path, buf, (size_t)n, value, err);
	if(rc != HW_OK){
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return HW_OK;
}

int hw_epoch_peek(const char *dir, const char *session, int64_t *epoch, hw_error_t *err)
{
	char path[4200];
	int fd, rc = open_locked(dir, session, &fd, epoch, path, sizeof(path), err);

	if(rc == HW_OK) close(fd);
	return rc;
}

/* Writes max(last, floor) + (bump ? 1 : 0) under the lock; *epoch gets what was written. */
static int epoch_write(const char *dir, const char *session, int64_t floor, bool bump, int64_t *epoch, hw_error_t *err)
{
	char path[4200], buf[32];
	int64_t v = 0;
	int fd, n, rc = open_locked(dir, session, &fd, &v, path, sizeof(path), err);

	if(rc != HW_OK) return rc;
	if(v < floor) v = floor;
	if(bump) v++;
	n = snprintf(buf, sizeof(buf), "%lld\n", (long long)v);
	if(pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) != 0 || fsync(fd) != 0){
		rc = hw_error_set(err, HW_ERR_IO, "cannot write %s: %s", path, strerror(errno));
		goto cleanup;
	}
	*epoch = v;
cleanup:
	close(fd); /* also releases the lock */
	return rc;
}

int hw_epoch_next(const char *dir, const char *session, int64_t *epoch, hw_error_t *err)
{
	return epoch_write(dir, session, 0, true, epoch, err);
}

int hw_epoch_raise(const char *dir, const char *session, int64_t floor, int64_t *epoch, hw_error_t *err)
{
	int64_t v = 0;
	int rc;

	if(floor < 0) return hw_error_set(err, HW_ERR_INVAL, "epoch floor %lld is negative", (long long)floor);
	rc = epoch_write(dir, session, floor, false, &v, err);
	if(rc == HW_OK && epoch) *epoch = v;
	return rc;
}
