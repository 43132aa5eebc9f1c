/* buf.c: a growing text buffer (collector/buf.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void hw__buf_add(hw_buf_t *b, const char *s, size_t n)
{
	if(b->fail) return;
	if(b->len + n + 1 > b->cap){
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while(cap < b->len + n + 1) cap *= 2;
		p = realloc(b->p, cap);
		if(!p){
			b->fail = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}
