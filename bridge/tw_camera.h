/* GStreamer camera source (see issue 3). */
#ifndef TW_CAMERA_H
#define TW_CAMERA_H
#include "tw_err.h"
#endif
