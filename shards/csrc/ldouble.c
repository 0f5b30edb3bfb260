/* Long-double arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
 *
 * Redis parses these operands with strtold and prints the sum with "%.17Lf",
 * so on x86-64 the arithmetic is 80-bit extended precision. Rust has no such
 * type; this file does exactly that computation so replies and stored values
 * match Redis byte for byte. It is pure: no I/O, no global state besides errno.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#define CC_MAX_LD_CHARS (5 * 1024)

/* Parse like Redis's string2ld: the whole buffer, no leading space, no NaN,
 * no overflow to +-HUGE_VAL or underflow to zero. Returns 1 on success. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[CC_MAX_LD_CHARS + 1];
    char *eptr;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long double v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || (size_t)(eptr - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Returns 0 on success (out/outlen hold the new value), 1 when the current
 * value is not a float, 2 when the increment is not, 3 when the result is NaN
 * or infinite, 4 when it does not fit the output buffer. `cur` may be NULL
 * (absent key: 0). */
int cachecat_incrbyfloat(const char *cur, size_t curlen, const char *incr, size_t incrlen,
                         char *out, size_t outcap, size_t *outlen) {
    long double a = 0, b;
    if (cur && !parse_ld(cur, curlen, &a)) return 1;
    if (!parse_ld(incr, incrlen, &b)) return 2;
    a += b;
    if (isnan(a) || isinf(a)) return 3;
    int l = snprintf(out, outcap, "%.17Lf", a);
    if (l < 0 || (size_t)l + 1 > outcap) return 4;
    if (memchr(out, '.', (size_t)l) != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    *outlen = (size_t)l;
    return 0;
}

/* -1 when the buffer is not a long double as Redis accepts it, 0 when it is
 * finite, 1 when it is infinite. */
int cachecat_ld_class(const char *s, size_t len) {
    long double v;
    if (!parse_ld(s, len, &v)) return -1;
    return isinf(v) ? 1 : 0;
}

/* Doubles for sorted-set scores and weights. `strict` follows Redis's
 * getDoubleFromObject (the whole buffer, no leading space, no NaN, no
 * overflow or underflow to zero); otherwise zslParseRange's plain strtod:
 * anything strtod reads up to the end of the C string, the empty string
 * being 0, except NaN. Returns 1 on success. */
int cachecat_parse_double(const char *s, size_t len, int strict, double *out) {
    char stackbuf[256];
    char *buf = len < sizeof(stackbuf) ? stackbuf : malloc(len + 1);
    char *eptr;
    int ok;
    if (buf == NULL) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double v = strtod(buf, &eptr);
    if (strict) {
        ok = !(len == 0 || isspace((unsigned char)buf[0]) || (size_t)(eptr - buf) != len ||
               (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
               isnan(v));
    } else {
        ok = eptr[0] == '\0' && !isnan(v);
    }
    if (buf != stackbuf) free(buf);
    if (ok) *out = v;
    return ok;
}
