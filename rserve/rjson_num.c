/* Doubles to short decimal text that reads back to the same double, without
 * printf: Loitsch's Grisu2 digit generation over a table of powers of ten
 * computed once at start in 128-bit fixed point. */
#include "rserve/rjson.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define POW_MIN (-350)
#define POW_MAX 350

struct diyfp {
    uint64_t f;
    int e;
};

static struct diyfp pow10_table[POW_MAX - POW_MIN + 1];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

typedef unsigned __int128 u128;

static int clz128(u128 m)
{
    uint64_t hi = (uint64_t)(m >> 64);

    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)m);
}

/* Rounds a normalized 128-bit mantissa to 64 bits. */
static struct diyfp round_to_64(u128 m, int e)
{
    uint64_t hi = (uint64_t)(m >> 64);
    uint64_t lo = (uint64_t)m;

    if (lo >> 63) {
        hi++;
        if (hi == 0) {
            hi = 1ull << 63;
            e++;
        }
    }
    return (struct diyfp){hi, e + 64};
}

/* 10^q as m * 2^e with m normalized to 128 bits; each step truncates below
 * 2^-127 relative, far below what the 64-bit table keeps. */
static void pow10_init(void)
{
    u128 m = (u128)1 << 127;
    int e = -127;
    int s;

    pow10_table[-POW_MIN] = round_to_64(m, e);
    for (int q = 1; q <= POW_MAX; q++) {
        u128 hi = (m >> 64) * 10, lo = (m & UINT64_MAX) * 10;
        u128 carry = (lo >> 64) + (hi & UINT64_MAX);
        uint64_t top = (uint64_t)(hi >> 64) + (uint64_t)(carry >> 64);

        s = 64 - __builtin_clzll(top);
        m = ((u128)(uint64_t)carry << 64 | (uint64_t)lo) >> s | (u128)top << (128 - s);
        e += s;
        pow10_table[q - POW_MIN] = round_to_64(m, e);
    }
    m = (u128)1 << 127;
    e = -127;
    for (int q = -1; q >= POW_MIN; q--) {
        u128 quot = m / 10, rem = m % 10;

        s = clz128(quot);
        m = quot << s | (rem << s) / 10;
        e -= s;
        pow10_table[q - POW_MIN] = round_to_64(m, e);
    }
}

static struct diyfp diy_mul(struct diyfp a, struct diyfp b)
{
    u128 p = (u128)a.f * b.f;
    uint64_t hi = (uint64_t)(p >> 64);

    if ((uint64_t)p >> 63)
        hi++;
    return (struct diyfp){hi, a.e + b.e + 64};
}

static struct diyfp diy_normalize(struct diyfp v)
{
    int s = __builtin_clzll(v.f);

    return (struct diyfp){v.f << s, v.e - s};
}

/* The double and the two ends of the interval of reals that round to it. */
static void boundaries(double d, struct diyfp *v, struct diyfp *lower, struct diyfp *upper)
{
    uint64_t bits, frac;
    int bexp;

    memcpy(&bits, &d, 8);
    frac = bits & ((1ull << 52) - 1);
    bexp = (int)(bits >> 52 & 0x7ff);
    if (bexp) {
        v->f = frac | 1ull << 52;
        v->e = bexp - 1075;
    } else {
        v->f = frac;
        v->e = -1074;
    }
    *upper = diy_normalize((struct diyfp){(v->f << 1) + 1, v->e - 1});
    if (frac == 0 && bexp > 1)
        *lower = (struct diyfp){(v->f << 2) - 1, v->e - 2};
    else
        *lower = (struct diyfp){(v->f << 1) - 1, v->e - 1};
    lower->f <<= lower->e - upper->e;
    lower->e = upper->e;
    *v = diy_normalize(*v);
}

static void grisu_round(char *digits, int len, uint64_t delta, uint64_t rest, uint64_t ten_kappa,
                        uint64_t wp_w)
{
    while (rest < wp_w && delta - rest >= ten_kappa &&
           (rest + ten_kappa < wp_w || wp_w - rest > rest + ten_kappa - wp_w)) {
        digits[len - 1]--;
        rest += ten_kappa;
    }
}

static const uint64_t pow10_u64[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

/* Generates the shortest digits in (lower, upper) closest to w. */
static int digit_gen(struct diyfp w, struct diyfp upper, uint64_t delta, char *digits, int *k)
{
    struct diyfp one = {1ull << -upper.e, upper.e};
    uint64_t wp_w = upper.f - w.f;
    uint32_t p1 = (uint32_t)(upper.f >> -one.e);
    uint64_t p2 = upper.f & (one.f - 1);
    int kappa = 10, len = 0;

    while (kappa > 0 && p1 < pow10_u64[kappa - 1])
        kappa--;
    while (kappa > 0) {
        uint32_t div = (uint32_t)pow10_u64[kappa - 1];
        uint32_t d = p1 / div;
        uint64_t rest;

        p1 %= div;
        if (d || len)
            digits[len++] = (char)('0' + d);
        kappa--;
        rest = ((uint64_t)p1 << -one.e) + p2;
        if (rest <= delta) {
            *k += kappa;
            grisu_round(digits, len, delta, rest, pow10_u64[kappa] << -one.e, wp_w);
            return len;
        }
    }
    for (;;) {
        uint32_t d;

        p2 *= 10;
        delta *= 10;
        d = (uint32_t)(p2 >> -one.e);
        if (d || len)
            digits[len++] = (char)('0' + d);
        p2 &= one.f - 1;
        kappa--;
        if (p2 < delta) {
            *k += kappa;
            grisu_round(digits, len, delta, p2, one.f, wp_w * pow10_u64[-kappa]);
            return len;
        }
    }
}

/* Digits of a finite positive double; value = digits * 10^k. */
static int grisu2(double d, char *digits, int *k)
{
    struct diyfp v, lower, upper, c, w, wp, wm;
    int q;

    boundaries(d, &v, &lower, &upper);
    q = (int)ceil((-60 - upper.e) * 0.30102999566398114);
    c = pow10_table[q - POW_MIN];
    w = diy_mul(v, c);
    wp = diy_mul(upper, c);
    wm = diy_mul(lower, c);
    wm.f++;
    wp.f--;
    *k = -q;
    return digit_gen(w, wp, wp.f - wm.f, digits, k);
}

static size_t put_exponent(char *out, int e)
{
    size_t n = 0;

    out[n++] = 'e';
    out[n++] = e < 0 ? '-' : '+';
    if (e < 0)
        e = -e;
    if (e >= 100)
        out[n++] = (char)('0' + e / 100);
    if (e >= 10)
        out[n++] = (char)('0' + e / 10 % 10);
    out[n++] = (char)('0' + e % 10);
    return n;
}

/* Places the decimal point the way JavaScript prints numbers, except that
 * a whole number is written out in digits only below 10^15: larger ones
 * take the exponent form, so that no reader takes them for exact integers
 * (and readers with 64-bit integers, jansson among them, accept them). */
static size_t layout(char *out, const char *digits, int len, int k)
{
    int point = len + k;
    size_t n = 0;

    if (len <= point && point <= 15) {
        memcpy(out, digits, (size_t)len);
        memset(out + len, '0', (size_t)(point - len));
        return (size_t)point;
    }
    if (0 < point && point < len && point <= 21) {
        memcpy(out, digits, (size_t)point);
        out[point] = '.';
        memcpy(out + point + 1, digits + point, (size_t)(len - point));
        return (size_t)len + 1;
    }
    if (-6 < point && point <= 0) {
        out[0] = '0';
        out[1] = '.';
        memset(out + 2, '0', (size_t)-point);
        memcpy(out + 2 - point, digits, (size_t)len);
        return (size_t)(2 - point + len);
    }
    out[n++] = digits[0];
    if (len > 1) {
        out[n++] = '.';
        memcpy(out + n, digits + 1, (size_t)len - 1);
        n += (size_t)len - 1;
    }
    n += put_exponent(out + n, point - 1);
    return n;
}

size_t rjson_format_double(char out[RJSON_DOUBLE_MAX], double d)
{
    char digits[24];
    size_t n = 0;
    int len, k;

    pthread_once(&pow10_once, pow10_init);
    if (signbit(d)) {
        out[n++] = '-';
        d = -d;
    }
    if (d == 0) {
        out[n++] = '0';
        return n;
    }
    len = grisu2(d, digits, &k);
    return n + layout(out + n, digits, len, k);
}
