/*
 * guest_id.c: reading "guest-<conn_id>" (see guest_id.h).
 */
#include "guest_id.h"

#include <string.h>

#define PREFIX "guest-"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

int
guest_id_parse(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (len <= PREFIX_LEN || memcmp(s, PREFIX, PREFIX_LEN))
		return -1;
	/* "guest-01" is not what the server writes for conn 1: no alias */
	if (s[PREFIX_LEN] == '0' && len > PREFIX_LEN + 1)
		return -1;
	for (i = PREFIX_LEN; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		/* v * 10 + d would pass UINT64_MAX and wrap round */
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
guest_id_reserved(const char *s, size_t len)
{
	return len >= PREFIX_LEN && !memcmp(s, PREFIX, PREFIX_LEN);
}
