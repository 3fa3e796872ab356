/* es_build.h — an AWS event-stream frame builder for the unit tests,
 * written from the format description (AWS "Event stream encoding"), not
 * with the decoder's code:
 *
 *   total length u32 BE | headers length u32 BE | CRC-32 of those 8 bytes |
 *   headers (name length u8, name, type u8, value: 0 true and 1 false carry
 *   none, 2 byte 1, 3 short 2, 4 int 4, 5 long 8, 6 bytes and 7 string u16
 *   BE length + bytes, 8 timestamp 8, 9 uuid 16) | payload |
 *   CRC-32 of everything before it
 *
 * Usage: memset a struct frame, add headers with h_*, then seal(). */
#ifndef KIN_ES_BUILD_H
#define KIN_ES_BUILD_H

#include <stdint.h>
#include <string.h>

#define FRAME_MAX (256 * 1024)

struct frame {
	unsigned char b[FRAME_MAX];
	size_t n;          /* the whole frame, after seal() */
	unsigned char hdr[2048];
	size_t hn;
};

static inline void
put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* a textbook bitwise CRC-32, independent of the decoder's table */
static inline uint32_t
crc_bitwise(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

static inline void
h_name(struct frame *f, const char *name, int type)
{
	size_t n = strlen(name);

	f->hdr[f->hn++] = (unsigned char)n;
	memcpy(f->hdr + f->hn, name, n);
	f->hn += n;
	f->hdr[f->hn++] = (unsigned char)type;
}

static inline void
h_int(struct frame *f, const char *name, int type, int64_t v, int bytes)
{
	h_name(f, name, type);
	put_be(f->hdr + f->hn, (uint64_t)v, bytes);
	f->hn += (size_t)bytes;
}

static inline void
h_blob(struct frame *f, const char *name, int type, const void *v, size_t n)
{
	h_name(f, name, type);
	if (type != 9) {
		put_be(f->hdr + f->hn, n, 2);
		f->hn += 2;
	}
	memcpy(f->hdr + f->hn, v, n);
	f->hn += n;
}

static inline void
h_str(struct frame *f, const char *name, const char *v)
{
	h_blob(f, name, 7, v, strlen(v));
}

/* Lay out prelude, headers, payload and both CRCs. */
static inline void
seal(struct frame *f, const void *payload, size_t plen)
{
	size_t total = 12 + f->hn + plen + 4;

	put_be(f->b, total, 4);
	put_be(f->b + 4, f->hn, 4);
	put_be(f->b + 8, crc_bitwise(f->b, 8), 4);
	memcpy(f->b + 12, f->hdr, f->hn);
	memcpy(f->b + 12 + f->hn, payload, plen);
	put_be(f->b + total - 4, crc_bitwise(f->b, total - 4), 4);
	f->n = total;
}

#endif
