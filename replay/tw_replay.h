#ifndef TW_REPLAY_H
#define TW_REPLAY_H
#include "tw_bridge.h"
#endif
