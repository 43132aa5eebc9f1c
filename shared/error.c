/* error.c: return-code sentences, refusal reason names, and hw_error_t filling. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "heartwire/error.h"

static void error_vset(hw_error_t *err, int code, int reason, const char *fmt, va_list ap) HW_PRINTF(4, 0);

static void error_vset(hw_error_t *err, int code, int reason, const char *fmt, va_list ap)
{
	if(!err) return;
	err->code = code;
	err->reason = reason;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int hw_error_set(hw_error_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, HW_R_NONE, fmt, ap);
	va_end(ap);
	return code;
}

int hw_error_refuse(hw_error_t *err, int reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, HW_ERR_DECODE, reason, fmt, ap);
	va_end(ap);
	return HW_ERR_DECODE;
}

void hw_error_clear(hw_error_t *err)
{
	if(!err) return;
	err->code = HW_OK;
	err->reason = HW_R_NONE;
	err->msg[0] = '\0';
}

const char *hw_strerror(int rc)
{
	/* clang-format off */
	static const char *const text[HW_ERR__COUNT] = {
		[HW_OK] = "success",
		[HW_ERR_INVAL] = "invalid argument",
		[HW_ERR_NOMEM] = "out of memory",
		[HW_ERR_IO] = "input/output error",
		[HW_ERR_DECODE] = "message refused",
		[HW_ERR_NOTFOUND] = "not found",
		[HW_ERR_CONFLICT] = "conflict",
		[HW_ERR_TIMEOUT] = "timed out",
		[HW_ERR_MQTT] = "MQTT error",
		[HW_ERR_STORE] = "database error",
		[HW_ERR_CONFIG] = "configuration error",
		[HW_ERR_STATE] = "transition not allowed",
		[HW_ERR_FORBIDDEN] = "forbidden",
		[HW_ERR_AGAIN] = "temporarily unavailable",
	};
	/* clang-format on */

	if(rc < 0 || rc >= HW_ERR__COUNT || !text[rc]) return "unknown error";
	return text[rc];
}

const char *hw_reason_name(int reason)
{
	/* clang-format off */
	static const char *const names[HW_R__COUNT] = {
		[HW_R_NONE] = "none",
		[HW_R_EMPTY] = "empty",
		[HW_R_TOO_LARGE] = "too_large",
		[HW_R_BAD_UTF8] = "bad_utf8",
		[HW_R_BAD_JSON] = "bad_json",
		[HW_R_TOO_DEEP] = "too_deep",
		[HW_R_NOT_OBJECT] = "not_object",
		[HW_R_BAD_VERSION] = "bad_version",
		[HW_R_MISSING_KEY] = "missing_key",
		[HW_R_WRONG_TYPE] = "wrong_type",
		[HW_R_BAD_KEY] = "bad_key",
		[HW_R_BAD_ID] = "bad_id",
		[HW_R_OUT_OF_RANGE] = "out_of_range",
		[HW_R_BAD_VALUE] = "bad_value",
		[HW_R_TOO_MANY] = "too_many",
		[HW_R_BAD_ROOT] = "bad_root",
		[HW_R_BAD_TOPIC] = "bad_topic",
		[HW_R_WILDCARD] = "wildcard",
		[HW_R_EMPTY_LEVEL] = "empty_level",
		[HW_R_MISMATCH] = "mismatch",
	};
	/* clang-format on */

	if(reason < 0 || reason >= HW_R__COUNT || !names[reason]) return "unknown";
	return names[reason];
}
