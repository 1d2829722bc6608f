/* The converters `tw import` and `tw export` know. Each format's helper adds its rows here. */
#include <stddef.h>

#include "tw_convert.h"

const tw_converter tw_importers[] = {
    {"mcap", "ROS 2 bags (rosbag2 directories, MCAP files) to episodes", tw_import_mcap},
    {NULL, NULL, NULL},
};

const tw_converter tw_exporters[] = {
    {"mcap", "an episode to MCAP (ROS 2 CDR, foxglove.CompressedVideo) for Foxglove and Rerun", tw_export_mcap},
    {NULL, NULL, NULL},
};
