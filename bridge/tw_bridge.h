/* bridge: the floor every teleworld stage stands on. Public header. */
#ifndef TW_BRIDGE_H
#define TW_BRIDGE_H

#include "tw_err.h"
#include "tw_clock.h"
#include "tw_wire.h"
#include "tw_episode.h"
#include "tw_client.h"
#include "tw_camera.h"

#define TW_VERSION "0.1.0"

#endif
