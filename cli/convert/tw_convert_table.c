/* The converters `tw import` and `tw export` know. Each format's helper adds its rows here. */
#include <stddef.h>

#include "tw_convert.h"

const tw_converter tw_importers[] = {
    {NULL, NULL, NULL},
};

const tw_converter tw_exporters[] = {
    {NULL, NULL, NULL},
};
