/* Client library for teleop rigs (owned by the client work; see issue 3). */
#ifndef TW_CLIENT_H
#define TW_CLIENT_H
#include "tw_wire.h"
#endif
