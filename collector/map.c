/* map.c: a string-keyed chained hash map (FNV-1a, power-of-two buckets, grows at load 1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

#define MAP_MIN_BUCKETS 64

static uint64_t map_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for(const unsigned char *p = (const unsigned char *)key; *p; p++){
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

int hw_map_init(hw_map_t *m, hw_error_t *err)
{
	m->buckets = calloc(MAP_MIN_BUCKETS, sizeof(*m->buckets));
	if(!m->buckets) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for a hash map");
	m->nbuckets = MAP_MIN_BUCKETS;
	m->len = 0;
	return HW_OK;
}

void hw_map_cleanup(hw_map_t *m)
{
	if(!m || !m->buckets) return;
	for(size_t i = 0; i < m->nbuckets; i++){
		hw_map_entry_t *e = m->buckets[i];
		while(e){
			hw_map_entry_t *next = e->next;
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->len = 0;
}

static hw_map_entry_t **map_slot(const hw_map_t *m, const char *key)
{
	hw_map_entry_t **pp = &m->buckets[map_hash(key) & (m->nbuckets - 1)];

	while(*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
	return pp;
}

void *hw_map_get(const hw_map_t *m, const char *key)
{
	hw_map_entry_t **pp = map_slot(m, key);

	return *pp ? (*pp)->value : NULL;
}

/* Doubles the bucket array; on allocation failure the map simply stays denser. */
static void map_grow(hw_map_t *m)
{
	size_t n = m->nbuckets * 2;
	hw_map_entry_t **b = calloc(n, sizeof(*b));

	if(!b) return;
	for(size_t i = 0; i < m->nbuckets; i++){
		hw_map_entry_t *e = m->buckets[i];
		while(e){
			hw_map_entry_t *next = e->next;
			size_t j = map_hash(e->key) & (n - 1);
			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

int hw_map_put(hw_map_t *m, const char *key, void *value, hw_error_t *err)
{
	hw_map_entry_t **pp = map_slot(m, key);
	size_t klen;

	if(*pp){
		(*pp)->value = value;
		return HW_OK;
	}
	klen = strlen(key);
	*pp = malloc(sizeof(**pp) + klen + 1);
	if(!*pp) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for a hash map entry");
	(*pp)->next = NULL;
	(*pp)->value = value;
	memcpy((*pp)->key, key, klen + 1);
	m->len++;
	if(m->len > m->nbuckets) map_grow(m);
	return HW_OK;
}

void *hw_map_del(hw_map_t *m, const char *key)
{
	hw_map_entry_t **pp = map_slot(m, key);
	hw_map_entry_t *e = *pp;
	void *v;

	if(!e) return NULL;
	*pp = e->next;
	v = e->value;
	free(e);
	m->len--;
	return v;
}

size_t hw_map_len(const hw_map_t *m)
{
	return m->len;
}

bool hw_map_next(const hw_map_t *m, hw_map_iter_t *it)
{
	hw_map_entry_t *e;

	if(!it->started){
		it->started = true;
		it->bucket = 0;
		e = m->nbuckets ? m->buckets[0] : NULL;
	}else{
		e = it->next;
	}
	while(!e){
		if(++it->bucket >= m->nbuckets) return false;
		e = m->buckets[it->bucket];
	}
	it->next = e->next;
	it->key = e->key;
	it->value = e->value;
	return true;
}
