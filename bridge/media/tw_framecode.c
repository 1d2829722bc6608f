/* Self-numbering frames: writer and reader of the code band described in tw_media.h. */
#include "tw_media.h"

#include "tw_core.h"

#include <stdlib.h>
#include <string.h>

#define NCELL TW_FRAMECODE_CELLS_PER_ROW
#define NDATA 16 /* data cells per row */
#define MIN_CONTRAST 48 /* luma levels between the darkest white and brightest black marker */

static uint16_t crc16_ccitt(uint32_t v)
{
    uint8_t bytes[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    uint16_t crc = 0xFFFF;
    for (int i = 0; i < 4; i++) {
        crc ^= (uint16_t)(bytes[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int tw_framecode_cell(int width, int height)
{
    if (width < TW_FRAMECODE_MIN_WIDTH)
        return 0;
    int c = width / NCELL;
    return height >= TW_FRAMECODE_ROWS * c ? c : 0;
}

/* The 16 data bits carried by each row: number high, number low, CRC. */
static uint16_t row_bits(uint32_t number, int row)
{
    if (row == 0)
        return (uint16_t)(number >> 16);
    if (row == 1)
        return (uint16_t)number;
    return crc16_ccitt(number);
}

/* Cell k's level in a row: 1 white, 0 black. */
static int cell_level(uint16_t bits, int k)
{
    if (k == 0 || k == NCELL - 1)
        return 1;
    if (k == 1 || k == NCELL - 2)
        return 0;
    return (bits >> (NDATA - 1 - (k - 2))) & 1;
}

static void fill_rect(uint8_t *rgb, size_t stride, int x0, int y0, int w, int h, uint8_t v)
{
    for (int y = y0; y < y0 + h; y++)
        memset(rgb + (size_t)y * stride + (size_t)x0 * 3, v, (size_t)w * 3);
}

int tw_framecode_draw(uint8_t *rgb, int width, int height, size_t stride, uint32_t number,
                      char *msg, size_t msgsz)
{
    int c = tw_framecode_cell(width, height);
    if (!rgb || c == 0 || stride < (size_t)width * 3)
        return tw_errf(msg, msgsz, TW_EINVAL,
                       "framecode: frame %dx%d (stride %zu) cannot hold the code (need width >= %d, "
                       "height >= 3 * width/20)", width, height, stride, TW_FRAMECODE_MIN_WIDTH);
    for (int row = 0; row < TW_FRAMECODE_ROWS; row++) {
        uint16_t bits = row_bits(number, row);
        for (int k = 0; k < NCELL; k++)
            fill_rect(rgb, stride, k * c, row * c, c, c, cell_level(bits, k) ? 255 : 0);
        /* Leftover columns when width is not a multiple of 20: mid grey, not data. */
        if (width > NCELL * c)
            fill_rect(rgb, stride, NCELL * c, row * c, width - NCELL * c, c, 128);
    }
    return 0;
}

/* Position of a bouncing object of size s on an axis of length len, at step n. */
static int bounce(uint32_t n, int speed, int len, int s)
{
    int span = len - s;
    if (span <= 0)
        return 0;
    int p = (int)(((uint64_t)n * (uint64_t)speed) % (uint64_t)(2 * span));
    return p <= span ? p : 2 * span - p;
}

int tw_framecode_pattern(uint8_t *rgb, int width, int height, size_t stride, uint32_t number,
                         char *msg, size_t msgsz)
{
    static const uint8_t bars[8][3] = {{235, 235, 235}, {235, 235, 16}, {16, 235, 235}, {16, 235, 16},
                                       {235, 16, 235},  {235, 16, 16},  {16, 16, 235},  {40, 40, 40}};
    int c = tw_framecode_cell(width, height);
    if (!rgb || c == 0 || stride < (size_t)width * 3)
        return tw_framecode_draw(rgb, width, height, stride, number, msg, msgsz);
    int band = TW_FRAMECODE_ROWS * c;
    int barw = width / 8 > 0 ? width / 8 : 1;
    int shift = (int)((number * 4u) % (uint32_t)width);
    for (int y = band; y < height; y++) {
        uint8_t *p = rgb + (size_t)y * stride;
        int shade = 128 + (y * 127) / height; /* vertical gradient so rows differ */
        for (int x = 0; x < width; x++) {
            const uint8_t *b = bars[((x + shift) / barw) & 7];
            p[3 * x + 0] = (uint8_t)(b[0] * shade / 255);
            p[3 * x + 1] = (uint8_t)(b[1] * shade / 255);
            p[3 * x + 2] = (uint8_t)(b[2] * shade / 255);
        }
    }
    int s = 2 * c;
    int bx = bounce(number, 7, width, s);
    int by = band + bounce(number, 5, height - band, s);
    if (by + s <= height)
        fill_rect(rgb, stride, bx, by, s, s, 255);
    return tw_framecode_draw(rgb, width, height, stride, number, msg, msgsz);
}

/* Mean luma of the inner half of cell (k, row): the border is where blocking and ringing live. */
static int cell_luma(const uint8_t *pix, size_t stride, tw_pixfmt fmt, int c, int k, int row)
{
    int x0 = k * c + c / 4, y0 = row * c + c / 4, n = c - 2 * (c / 4);
    uint64_t sum = 0;
    for (int y = y0; y < y0 + n; y++) {
        const uint8_t *p = pix + (size_t)y * stride;
        for (int x = x0; x < x0 + n; x++) {
            if (fmt == TW_PIX_GRAY8)
                sum += p[x];
            else
                sum += ((uint32_t)p[3 * x] * 77 + (uint32_t)p[3 * x + 1] * 150 + (uint32_t)p[3 * x + 2] * 29) >> 8;
        }
    }
    return (int)(sum / ((uint64_t)n * (uint64_t)n));
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* Decodes one row's 16 data bits, checking its markers and that no cell is ambiguous. */
static int read_row(const uint8_t *pix, size_t stride, tw_pixfmt fmt, int c, int row, uint16_t *bits,
                    char *msg, size_t msgsz)
{
    int w0 = cell_luma(pix, stride, fmt, c, 0, row), w1 = cell_luma(pix, stride, fmt, c, NCELL - 1, row);
    int b0 = cell_luma(pix, stride, fmt, c, 1, row), b1 = cell_luma(pix, stride, fmt, c, NCELL - 2, row);
    if (imin(w0, w1) - imax(b0, b1) < MIN_CONTRAST)
        return tw_errf(msg, msgsz, TW_EINTEGRITY,
                       "framecode: row %d markers missing (white %d/%d, black %d/%d luma)", row, w0, w1, b0, b1);
    int thr = (w0 + w1 + b0 + b1) / 4;
    int margin = (imin(w0, w1) - imax(b0, b1)) / 4;
    uint16_t v = 0;
    for (int k = 2; k < NCELL - 2; k++) {
        int l = cell_luma(pix, stride, fmt, c, k, row);
        if (abs(l - thr) < margin)
            return tw_errf(msg, msgsz, TW_EINTEGRITY,
                           "framecode: row %d cell %d ambiguous (luma %d, threshold %d)", row, k, l, thr);
        v = (uint16_t)((v << 1) | (l > thr));
    }
    *bits = v;
    return 0;
}

int tw_framecode_read(const uint8_t *pix, int width, int height, size_t stride, tw_pixfmt fmt,
                      uint32_t *number, char *msg, size_t msgsz)
{
    int c = tw_framecode_cell(width, height);
    size_t bpp = fmt == TW_PIX_GRAY8 ? 1 : 3;
    if (!pix || !number || (fmt != TW_PIX_RGB24 && fmt != TW_PIX_GRAY8))
        return tw_errf(msg, msgsz, TW_EINVAL, "framecode: NULL frame or unknown pixel format %d", (int)fmt);
    if (c == 0 || stride < (size_t)width * bpp)
        return tw_errf(msg, msgsz, TW_EINVAL, "framecode: frame %dx%d (stride %zu) too small for a code",
                       width, height, stride);
    uint16_t rows[TW_FRAMECODE_ROWS];
    for (int r = 0; r < TW_FRAMECODE_ROWS; r++) {
        int rc = read_row(pix, stride, fmt, c, r, &rows[r], msg, msgsz);
        if (rc)
            return rc;
    }
    uint32_t n = ((uint32_t)rows[0] << 16) | rows[1];
    if (crc16_ccitt(n) != rows[2])
        return tw_errf(msg, msgsz, TW_EINTEGRITY, "framecode: checksum mismatch (read %u, crc %04x, expected %04x)",
                       n, rows[2], crc16_ccitt(n));
    *number = n;
    return 0;
}
