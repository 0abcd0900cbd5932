/* SPDX-License-Identifier: Apache-2.0
 *
 * Protobuf's wire format, read in place: what the collector's C readers of OTLP bytes (`otlp/_wire.c`,
 * `extract/_read_spans.c`) share. Header-only: each extension module compiles its own static copy.
 */
#ifndef LLMLEDGER_PROTOWIRE_H
#define LLMLEDGER_PROTOWIRE_H

#include <stdint.h>

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Cursor;

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

/* 1 on success; 0 on a truncated varint or one of more than 64 bits. */
static int read_long_varint(Cursor *c, uint64_t *out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t byte = *c->p++;
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            if (shift == 63 && byte > 1) return 0; /* more than 64 bits */
            *out = value;
            return 1;
        }
    }
    return 0;
}

/* Nearly every varint of a span (tags, lengths of keys, values and attribute messages) is one byte: read inline. */
static inline int read_varint(Cursor *c, uint64_t *out) {
    if (c->p < c->end && *c->p < 0x80) {
        *out = *c->p++;
        return 1;
    }
    return read_long_varint(c, out);
}

#endif
