/*
 * rm_err.h: the return codes of roomcast's core modules.
 *
 * Core functions return 0 (RM_OK) or one of these negative codes, in the
 * manner of libuv's UV_E*; rm_strerror() gives the text. Where a caller
 * wants words for a person (a start error, a log line), functions take an
 * err buffer that rm_seterr() fills. Pure header.
 */
#ifndef RM_ERR_H
#define RM_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum rm_err {
	RM_OK = 0,
	RM_E_NOMEM = -1,	/* an allocation failed */
	RM_E_INVAL = -2,	/* an argument or value breaks its rule */
	RM_E_FULL = -3,		/* a bounded queue has no room */
	RM_E_LIMIT = -4,	/* a configured limit was reached */
	RM_E_RANGE = -5,	/* a number is outside its allowed range */
	RM_E_NOENT = -6,	/* the named thing does not exist */
};

static inline const char *
rm_strerror(int err)
{
	switch (err) {
	case RM_OK:
		return "ok";
	case RM_E_NOMEM:
		return "out of memory";
	case RM_E_INVAL:
		return "invalid value";
	case RM_E_FULL:
		return "queue full";
	case RM_E_LIMIT:
		return "limit reached";
	case RM_E_RANGE:
		return "out of range";
	case RM_E_NOENT:
		return "no such entry";
	}
	return "unknown error";
}

/* Writes the printf-style reason into @err (@errlen bytes), if given. */
static inline void __attribute__((format(printf, 3, 4)))
rm_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif
