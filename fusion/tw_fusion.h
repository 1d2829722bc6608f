#ifndef TW_FUSION_H
#define TW_FUSION_H
#include "tw_replay.h"
#endif
