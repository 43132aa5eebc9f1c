/* error.h: heartwire's one error model: return codes, codec refusal reasons, hw_error_t. */
#ifndef HEARTWIRE_ERROR_H
#define HEARTWIRE_ERROR_H

#include <stddef.h>

#if defined(__GNUC__)
#define HW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HW_PRINTF(fmt, args)
#endif

/* Every fallible heartwire function returns one of these; 0 is success. */
typedef enum hw_rc {
	HW_OK = 0,
	HW_ERR_INVAL,     /* a bad argument, option or id */
	HW_ERR_NOMEM,     /* out of memory */
	HW_ERR_IO,        /* a system call or file failed */
	HW_ERR_DECODE,    /* a message was refused by the codec; hw_error_t.reason says why */
	HW_ERR_NOTFOUND,  /* no such session, key or object */
	HW_ERR_CONFLICT,  /* a race was lost or a precondition did not hold */
	HW_ERR_TIMEOUT,   /* a deadline passed */
	HW_ERR_MQTT,      /* the MQTT client or broker refused */
	HW_ERR_STORE,     /* the database refused or is unreachable */
	HW_ERR_CONFIG,    /* a config file, environment variable or flag is wrong */
	HW_ERR_STATE,     /* the transition is not allowed from the current state */
	HW_ERR_FORBIDDEN, /* not allowed for this principal */
	HW_ERR_AGAIN,     /* temporarily unavailable; try again */
	HW_ERR__COUNT
} hw_rc;

/* Why the codec or the topic parser refused an input. The names (hw_reason_name) are
 * stable and appear in counters, logs and replies: never renumber or rename them. */
typedef enum hw_reason {
	HW_R_NONE = 0,
	HW_R_EMPTY,        /* empty payload or topic */
	HW_R_TOO_LARGE,    /* payload over the size limit, or topic too long */
	HW_R_BAD_UTF8,     /* not valid UTF-8 (or contains NUL) */
	HW_R_BAD_JSON,     /* not parseable JSON, or trailing garbage */
	HW_R_TOO_DEEP,     /* nesting deeper than the limit */
	HW_R_NOT_OBJECT,   /* top level is not a JSON object */
	HW_R_BAD_VERSION,  /* "v" missing or not a supported version */
	HW_R_MISSING_KEY,  /* a required key is absent */
	HW_R_WRONG_TYPE,   /* a key has the wrong JSON type */
	HW_R_BAD_KEY,      /* a key starts with '$', contains '.', or is empty */
	HW_R_BAD_ID,       /* an identifier is not 1-64 of [A-Za-z0-9._:-] */
	HW_R_OUT_OF_RANGE, /* a number is out of its allowed range */
	HW_R_BAD_VALUE,    /* a string is not one of the allowed values */
	HW_R_TOO_MANY,     /* an array or object has too many members */
	HW_R_BAD_ROOT,     /* topic does not start with the configured root */
	HW_R_BAD_TOPIC,    /* topic does not match any shape of the tree */
	HW_R_WILDCARD,     /* a topic level holds '+', '#' or is otherwise not a concrete name */
	HW_R_EMPTY_LEVEL,  /* a topic has an empty level ("a//b", trailing '/') */
	HW_R_MISMATCH,     /* payload disagrees with its topic (session, machine) */
	HW_R__COUNT
} hw_reason;

#define HW_ERROR_MSG_MAX 256

/* Filled by a fallible function that fails, when the caller passes one. */
typedef struct hw_error {
	int code;   /* hw_rc */
	int reason; /* hw_reason, HW_R_NONE when not a refusal of input */
	char msg[HW_ERROR_MSG_MAX];
} hw_error_t;

/* Sets err (when not NULL) to code and a formatted one-line message; returns code, so
 * that `return hw_error_set(err, HW_ERR_INVAL, "...")` reads as one guard clause. */
int hw_error_set(hw_error_t *err, int code, const char *fmt, ...) HW_PRINTF(3, 4);

/* As hw_error_set, with code HW_ERR_DECODE and a refusal reason; returns HW_ERR_DECODE. */
int hw_error_refuse(hw_error_t *err, int reason, const char *fmt, ...) HW_PRINTF(3, 4);

/* Resets err to HW_OK with an empty message; NULL is a no-op. */
void hw_error_clear(hw_error_t *err);

/* A sentence for a return code; never NULL. */
const char *hw_strerror(int rc);

/* The stable snake_case name of a refusal reason ("too_large"); "unknown" when out of range. */
const char *hw_reason_name(int reason);

#endif
