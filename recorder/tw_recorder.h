#ifndef TW_RECORDER_H
#define TW_RECORDER_H
#include "tw_bridge.h"
#endif
