/* UTF-8 validation shared by every writer of text that goes out as JSON. */
#ifndef OMCP_UTF8_H
#define OMCP_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (1..4; 1 for ASCII), or 0 when
 * the bytes there are not valid UTF-8 (overlong forms, surrogates and code
 * points past U+10FFFF included). avail > 0 bytes may be read. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

#endif
