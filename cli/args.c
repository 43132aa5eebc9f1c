/* args.c: time, state-list and repeatable-option parsing for the heartwire CLI (see args.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heartwire/states.h"

#include "args.h"

#define TIME_HELP "a duration (90s, 10m, 2h, 1d), an ISO 8601 UTC time (2026-11-21T09:20:00Z) or ms since the epoch"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for(int i = 0; i < n; i++){
		if(!isdigit((unsigned char)(*p)[i])) return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool parse_iso(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec = 0, ms = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;

	if(!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d)) return false;
	if(*p != 'T' && *p != 't' && *p != ' ') return false;
	p++;
	if(!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) return false;
	if(*p == ':'){
		p++;
		if(!digits(&p, 2, &sec)) return false;
		if(*p == '.'){
			int k = 0, v = 0;
			p++;
			while(isdigit((unsigned char)*p)){
				if(k < 3){
					v = v * 10 + (*p - '0');
					k++;
				}
				p++;
			}
			if(k == 0) return false;
			while(k++ < 3) v *= 10;
			ms = v;
		}
	}
	if(*p == 'Z' || *p == 'z'){
		p++;
	}else if(*p == '+' || *p == '-'){
		sign = *p == '+' ? 1 : -1;
		p++;
		if(!digits(&p, 2, &oh)) return false;
		if(*p == ':') p++;
		if(!digits(&p, 2, &om)) return false;
	}else{
		return false;
	}
	if(*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
	*out = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - sign * (oh * 3600 + om * 60)) * 1000 + ms;
	return true;
}

int hw_cli_parse_time(const char *s, int64_t now_ms, bool future, int64_t *out, hw_error_t *err)
{
	char *end;
	long long v;

	if(!s || !*s) return hw_error_set(err, HW_ERR_INVAL, "empty time; use " TIME_HELP);
	if(parse_iso(s, out)) return HW_OK;
	v = strtoll(s, &end, 10);
	if(end != s && v >= 0){
		int64_t unit = 0;
		if(*end == '\0'){
			*out = v;
			return HW_OK;
		}
		if(strcmp(end, "ms") == 0) unit = 1;
		else if(strcmp(end, "s") == 0) unit = 1000;
		else if(strcmp(end, "m") == 0) unit = 60000;
		else if(strcmp(end, "h") == 0) unit = 3600000;
		else if(strcmp(end, "d") == 0) unit = 86400000;
		if(unit && v <= INT64_MAX / unit / 2){
			*out = future ? now_ms + v * unit : now_ms - v * unit;
			if(*out < 0) *out = 0;
			return HW_OK;
		}
	}
	return hw_error_set(err, HW_ERR_INVAL, "'%.64s' is not a time: use " TIME_HELP, s);
}

int hw_cli_parse_states(const char *list, unsigned *mask, hw_error_t *err)
{
	const char *p = list;

	while(p && *p){
		char name[32];
		size_t k = strcspn(p, ",");
		int st = 0;
		if(k == 0 || k >= sizeof(name))
			return hw_error_set(err, HW_ERR_INVAL, "--state: '%.*s' is not a state", (int)(k > 40 ? 40 : k), p);
		memcpy(name, p, k);
		name[k] = '\0';
		if(hw_state_parse(name, &st, NULL) != HW_OK || st == 0)
			return hw_error_set(err, HW_ERR_INVAL,
					"--state: '%s' is not a state; states: starting, active, idle, "
					"recovering, stalled, lost, crashed, completed, failed, cleared",
					name);
		*mask |= 1u << st;
		p += k;
		if(*p == ',') p++;
	}
	return HW_OK;
}

int hw_cli_take_repeated(int *argc, char **argv, const char *name, char *joined, size_t len, hw_error_t *err)
{
	char flag[64];
	size_t fl, o = 0;
	int w = 1;

	joined[0] = '\0';
	fl = (size_t)snprintf(flag, sizeof(flag), "--%s", name);
	for(int r = 1; r < *argc; r++){
		const char *val = NULL;
		if(strcmp(argv[r], "--") == 0){
			while(r < *argc) argv[w++] = argv[r++];
			break;
		}
		if(strcmp(argv[r], flag) == 0){
			if(r + 1 >= *argc) return hw_error_set(err, HW_ERR_INVAL, "%s needs a value", flag);
			val = argv[++r];
		}else if(strncmp(argv[r], flag, fl) == 0 && argv[r][fl] == '='){
			val = argv[r] + fl + 1;
		}
		if(!val){
			argv[w++] = argv[r];
			continue;
		}
		if(o + strlen(val) + 2 > len) return hw_error_set(err, HW_ERR_INVAL, "%s: too many values", flag);
		o += (size_t)snprintf(joined + o, len - o, "%s%s", o ? "," : "", val);
	}
	*argc = w;
	argv[w] = NULL;
	return HW_OK;
}
