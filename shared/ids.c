/* ids.c: identifier validation with errors that name the id, the bad byte and the rule. */
#include <stdio.h>
#include <string.h>

#include "heartwire/ids.h"

bool hw_id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
			c == '-';
}

/* Writes a printable rendering of at most 64 bytes of id into out, escaping the rest. */
static void id_render(char *out, size_t outlen, const char *id, size_t n)
{
	size_t o = 0;

	for(size_t i = 0; i < n && i < HW_ID_MAX && o + 5 < outlen; i++){
		unsigned char c = (unsigned char)id[i];
		if(c >= 0x20 && c < 0x7f && c != '\''){
			out[o++] = (char)c;
		}else{
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		}
	}
	if(n > HW_ID_MAX && o + 4 < outlen){
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int hw_id_check_n(const char *what, const char *id, size_t n, hw_error_t *err)
{
	char shown[HW_ID_MAX * 4 + 8];

	if(!what) what = "id";
	if(!id){
		hw_error_set(err, HW_ERR_INVAL, "%s is missing; allowed: %s", what, HW_ID_ALLOWED);
		if(err) err->reason = HW_R_BAD_ID;
		return HW_ERR_INVAL;
	}
	if(n == 0 || n > HW_ID_MAX){
		id_render(shown, sizeof(shown), id, n);
		hw_error_set(err, HW_ERR_INVAL, "%s '%s' is %zu characters long; allowed: %s", what, shown, n, HW_ID_ALLOWED);
		if(err) err->reason = HW_R_BAD_ID;
		return HW_ERR_INVAL;
	}
	for(size_t i = 0; i < n; i++){
		unsigned char c = (unsigned char)id[i];
		if(hw_id_char_ok(c)) continue;
		id_render(shown, sizeof(shown), id, n);
		if(c >= 0x20 && c < 0x7f){
			hw_error_set(err, HW_ERR_INVAL, "%s '%s' has '%c' at position %zu; allowed: %s", what, shown, c, i,
					HW_ID_ALLOWED);
		}else{
			hw_error_set(err, HW_ERR_INVAL, "%s '%s' has byte 0x%02x at position %zu; allowed: %s", what, shown, c, i,
					HW_ID_ALLOWED);
		}
		if(err) err->reason = HW_R_BAD_ID;
		return HW_ERR_INVAL;
	}
	return HW_OK;
}

int hw_id_check(const char *what, const char *id, hw_error_t *err)
{
	return hw_id_check_n(what, id, id ? strlen(id) : 0, err);
}

int hw_id_copy(char dst[HW_ID_MAX + 1], const char *what, const char *id, hw_error_t *err)
{
	int rc = hw_id_check(what, id, err);

	if(rc != HW_OK) return rc;
	memcpy(dst, id, strlen(id) + 1);
	return HW_OK;
}
