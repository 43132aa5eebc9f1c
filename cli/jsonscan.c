/* jsonscan.c: reading members of a strict JSON text in place (see jsonscan.h). */
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"

static size_t ws(const char *p, size_t i, size_t n)
{
	while(i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
	return i;
}

/* The index just after the value that starts at i (after whitespace), or n on malformed text. */
static size_t skip(const char *p, size_t i, size_t n)
{
	int depth = 0;

	i = ws(p, i, n);
	if(i >= n) return n;
	if(p[i] != '{' && p[i] != '[' && p[i] != '"'){
		while(i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\n' && p[i] != '\t' &&
				p[i] != '\r')
			i++;
		return i;
	}
	do{
		if(p[i] == '"'){
			for(i++; i < n && p[i] != '"'; i++){
				if(p[i] == '\\') i++;
			}
			i++;
		}else{
			if(p[i] == '{' || p[i] == '[') depth++;
			else if(p[i] == '}' || p[i] == ']') depth--;
			i++;
		}
	}while(i < n && depth > 0);
	return i > n ? n : i;
}

bool hw_js_member(hw_js_t v, const char *key, hw_js_t *out)
{
	const char *p = v.p;
	size_t n = v.n, i = ws(p, 0, n), klen = strlen(key);

	if(i >= n || p[i] != '{') return false;
	i++;
	for(;;){
		size_t ks, ke, vs, ve;
		i = ws(p, i, n);
		if(i >= n || p[i] != '"') return false;
		ks = i + 1;
		ke = skip(p, i, n) - 1;
		i = ws(p, ke + 1, n);
		if(i >= n || p[i] != ':') return false;
		vs = ws(p, i + 1, n);
		ve = skip(p, vs, n);
		if(ke - ks == klen && memcmp(p + ks, key, klen) == 0){
			out->p = p + vs;
			out->n = ve - vs;
			return true;
		}
		i = ws(p, ve, n);
		if(i >= n || p[i] != ',') return false;
		i++;
	}
}

bool hw_js_path(hw_js_t v, const char *path, hw_js_t *out)
{
	char part[128];
	hw_js_t cur = v;

	while(*path){
		size_t k = strcspn(path, ".");
		if(k >= sizeof(part)) return false;
		memcpy(part, path, k);
		part[k] = '\0';
		if(!hw_js_member(cur, part, &cur)) return false;
		path += k;
		if(*path == '.') path++;
	}
	*out = cur;
	return true;
}

bool hw_js_next(hw_js_t v, size_t *pos, hw_js_t *out)
{
	const char *p = v.p;
	size_t n = v.n, i = *pos, e;

	if(i == 0){
		i = ws(p, 0, n);
		if(i >= n || p[i] != '[') return false;
		i = ws(p, i + 1, n);
		if(i < n && p[i] == ']') return false;
	}else{
		i = ws(p, i, n);
		if(i >= n || p[i] != ',') return false;
		i = ws(p, i + 1, n);
	}
	e = skip(p, i, n);
	if(e <= i) return false;
	out->p = p + i;
	out->n = e - i;
	*pos = e;
	return true;
}

/* Appends code point cp as UTF-8 if it fits. */
static size_t put_utf8(char *out, size_t o, size_t len, unsigned long cp)
{
	char b[4];
	size_t k;

	if(cp < 0x80){
		b[0] = (char)cp;
		k = 1;
	}else if(cp < 0x800){
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	}else if(cp < 0x10000){
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	}else{
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if(o + k >= len) return o;
	memcpy(out + o, b, k);
	return o + k;
}

static unsigned long hex4(const char *p)
{
	char h[5];

	memcpy(h, p, 4);
	h[4] = '\0';
	return strtoul(h, NULL, 16);
}

bool hw_js_string(hw_js_t v, char *out, size_t len)
{
	size_t i = 0, o = 0;

	if(len) out[0] = '\0';
	if(v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"' || !len) return false;
	for(i = 1; i + 1 < v.n;){
		char c = v.p[i];
		if(c != '\\'){
			/* keep whole UTF-8 sequences only */
			size_t k = ((unsigned char)c >= 0xf0)        ? 4
					: ((unsigned char)c >= 0xe0) ? 3
					: ((unsigned char)c >= 0xc0) ? 2
								     : 1;
			if(o + k >= len) break;
			memcpy(out + o, v.p + i, k);
			o += k;
			i += k;
			continue;
		}
		if(i + 2 >= v.n) break;
		c = v.p[i + 1];
		if(c == 'u' && i + 6 <= v.n - 1){
			unsigned long cp = hex4(v.p + i + 2);
			i += 6;
			if(cp >= 0xd800 && cp < 0xdc00 && i + 6 <= v.n - 1 && v.p[i] == '\\' && v.p[i + 1] == 'u'){
				unsigned long lo = hex4(v.p + i + 2);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			o = put_utf8(out, o, len, cp);
			continue;
		}
		switch(c){
		case 'n':
			c = '\n';
			break;
		case 't':
			c = '\t';
			break;
		case 'r':
			c = '\r';
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		default:
			break; /* " \ / */
		}
		if(o + 1 >= len) break;
		out[o++] = c;
		i += 2;
	}
	out[o] = '\0';
	return true;
}

bool hw_js_int(hw_js_t v, int64_t *out)
{
	char buf[32], *end;
	long long x;

	if(v.n == 0 || v.n >= sizeof(buf)) return false;
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	if(strpbrk(buf, ".eE")) return false;
	x = strtoll(buf, &end, 10);
	if(end == buf || *end) return false;
	*out = x;
	return true;
}

bool hw_js_true(hw_js_t v)
{
	return v.n == 4 && memcmp(v.p, "true", 4) == 0;
}

bool hw_js_null(hw_js_t v)
{
	return v.n == 0 || (v.n == 4 && memcmp(v.p, "null", 4) == 0);
}

hw_js_t hw_js_of(const char *text)
{
	hw_js_t v = {text, text ? strlen(text) : 0};

	return v;
}

const char *hw_js_str_member(hw_js_t v, const char *key, char *out, size_t len)
{
	hw_js_t m;

	if(!hw_js_member(v, key, &m) || !hw_js_string(m, out, len)) out[0] = '\0';
	return out;
}

int64_t hw_js_int_member(hw_js_t v, const char *key, int64_t def)
{
	hw_js_t m;
	int64_t x;

	if(!hw_js_member(v, key, &m) || !hw_js_int(m, &x)) return def;
	return x;
}
