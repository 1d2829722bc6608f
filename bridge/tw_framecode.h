/* Self-numbering video frames: a machine-readable frame number drawn into the pixels.
 *
 * Layout (all sizes derive from the frame width W, so a reader needs only the frame):
 *   cell size c = W / 20 pixels (16 px at 320x240, 32 px at 640x480); the code band is the
 *   top 3*c rows, three rows of 20 square cells each:
 *       [white][black][16 data cells][black][white]
 *   Data cells are white for 1, black for 0, most significant bit first; rows 0-1 carry the
 *   32-bit frame number, row 2 its CRC-16/CCITT-FALSE (over the 4 big-endian bytes).
 *   The white/black marker cells at both ends of every row give the reader its per-row
 *   threshold, so brightness shifts and H.264 ringing do not flip bits; the CRC rejects
 *   anything else (a frame without a code, a torn frame, a misread cell).
 * Everything below the band is free for a moving test pattern (tw_framecode_pattern).
 * Limit: an encoder starved far below its rate (x264 at ~64 kbps for 30 fps 320x240 of this
 * pattern) may skip the band's macroblocks, so a frame shows the previous frame's code, which
 * reads as a valid number one behind. Tests prove reliable reading down to 256 kbps (default
 * camera bitrate: 2048 kbps). */
#ifndef TW_FRAMECODE_H
#define TW_FRAMECODE_H

#include <stddef.h>
#include <stdint.h>

#define TW_FRAMECODE_CELLS_PER_ROW 20
#define TW_FRAMECODE_ROWS 3
#define TW_FRAMECODE_MIN_WIDTH 160 /* c >= 8 px: below that H.264 blurs the cells away */

typedef enum {
    TW_PIX_RGB24 = 0, /* 3 bytes per pixel, R G B */
    TW_PIX_GRAY8 = 1, /* 1 byte per pixel, luma (e.g. the Y plane of a decoded frame) */
} tw_pixfmt;

/* Cell size in pixels for a frame of this size, or 0 if the frame cannot hold a code
 * (width below TW_FRAMECODE_MIN_WIDTH or height below the band). */
int tw_framecode_cell(int width, int height);

/* Draws the code for `number` into the top band of an RGB24 frame (stride in bytes).
 * Returns TW_EINVAL (with a message) if the frame is too small to hold the code. */
int tw_framecode_draw(uint8_t *rgb, int width, int height, size_t stride, uint32_t number,
                      char *msg, size_t msgsz);

/* Fills a whole RGB24 frame: a test pattern that moves with `number` (scrolling colour
 * bars and a bouncing square, so the encoder sees real motion), plus the code band. */
int tw_framecode_pattern(uint8_t *rgb, int width, int height, size_t stride, uint32_t number,
                         char *msg, size_t msgsz);

/* Reads the frame number from a decoded frame (RGB24 or GRAY8, stride in bytes).
 * Returns 0 and sets *number, or TW_EINTEGRITY with a message saying which row/cell or
 * check failed when the code is missing or unreadable, TW_EINVAL for bad arguments. */
int tw_framecode_read(const uint8_t *pix, int width, int height, size_t stride, tw_pixfmt fmt,
                      uint32_t *number, char *msg, size_t msgsz);

#endif
